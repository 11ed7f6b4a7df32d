"""How the page's work runs: errors as one message in the page, jobs one at a time on the device, cancel.

Gradio's queue does the ordering: every job (a full-size photo, a clip, training, a comparison) is an event
of the concurrency group ``JOBS``, one at a time, and the page shows a waiting job its place in the queue.
Previews and live frames are a second group of one, so moving a slider answers while a clip renders.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

import gradio as gr

from nets.errors import UserError

log = logging.getLogger("studio")

#: Concurrency groups (Gradio ``concurrency_id``), each running one event at a time.
JOBS, INTERACTIVE = "device", "interactive"


def shown(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a page handler: a user's mistake (UserError) becomes its message in the page; anything
    else too, in one line, with the traceback in the server's log. The server keeps serving either way."""

    def message(exc: BaseException) -> gr.Error:
        if isinstance(exc, UserError):
            return gr.Error(str(exc), print_exception=False)
        log.exception("%s failed", fn.__name__)
        return gr.Error(f"{fn.__name__.replace('_', ' ')} failed: {type(exc).__name__}: {exc}", print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001 - said in the page, logged with its traceback
                raise message(exc) from None
        return generator

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - said in the page, logged with its traceback
            raise message(exc) from None
    return plain


class Worker(threading.Thread):
    """A long job run beside the page's handler, which stays free to poll it and show its progress; what
    the job raised is raised again by ``outcome`` in the handler's thread, where ``shown`` says it."""

    def __init__(self, job: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.job, self.result, self.error = job, None, None
        self.start()

    def run(self) -> None:
        try:
            self.result = self.job()
        except BaseException as exc:  # noqa: BLE001 - raised again in the page's thread
            self.error = exc

    def outcome(self) -> Any:
        """The job's result once it has ended."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.result


class Cancels:
    """One cancel switch per browser session: the Cancel button sets it, the session's running job reads it."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._left: list[str] = []  # jobs stopped because their page went away, to say on the next page load

    def start(self, session: str) -> threading.Event:
        """A fresh switch for a job that starts now in ``session``."""
        with self._lock:
            self._events[session] = threading.Event()
            return self._events[session]

    def finish(self, session: str, switch: threading.Event, worker: threading.Thread, what: str = "") -> None:
        """The handler of ``session``'s job is ending, done or because its page went away (Gradio closes the
        handler's generator): ``switch`` is set, so a job still running stops as Cancel would stop it, and its
        ``worker`` is waited for, so the next job starts on a free machine; then Cancel has nothing to stop.
        A job ``what`` stopped because its page went away is said on the next page load (``left_behind``)."""
        if what and worker.is_alive() and not switch.is_set():
            with self._lock:
                self._left.append(f"{what} was stopped when its page was closed or reloaded; nothing of it was kept")
        switch.set()
        worker.join()
        with self._lock:
            if self._events.get(session) is switch:
                del self._events[session]

    def cancel(self, session: str) -> bool:
        """Set the switch of ``session``'s job; whether there was one to set."""
        with self._lock:
            event = self._events.get(session)
        if event is None:
            return False
        event.set()
        return True

    def stop_all(self) -> None:
        """Set every running job's switch: the server is stopping (Ctrl-C, a stop request), and a lesson or a
        render would otherwise hold the process until it ended (minutes), as it stops on Stop or Cancel."""
        with self._lock:
            for event in self._events.values():
                event.set()

    def left_behind(self) -> str:
        """What stopped because its page went away since the last page load asked (and forget it)."""
        with self._lock:
            said, self._left = " ".join(self._left), []
        return said
