"""Progress bars that suit a terminal and a log file alike.

In a terminal a bar redraws up to ten times a second; written to a file (stderr not a terminal) every
redraw would be a new line, so there it redraws every ten seconds at most.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

from tqdm import tqdm


def progress_bar(iterable: Any = None, **options: Any) -> tqdm:
    """``tqdm`` with the redraw interval chosen for where stderr goes."""
    interactive = sys.stderr.isatty()
    return tqdm(iterable, mininterval=0.1 if interactive else 10.0, dynamic_ncols=interactive, **options)


@contextlib.contextmanager
def waiting(desc: str, expected_s: float) -> Iterator[None]:
    """A bar of the seconds a single long call (a compiler's) has taken against what it is expected to take,
    where the call itself reports nothing: someone watching sees it is alive, and about how long is left."""
    bar = progress_bar(total=max(1, round(expected_s)), desc=desc, unit="s",
                       bar_format="{desc}: {n_fmt} s of about {total_fmt} s |{bar}|")
    done = threading.Event()

    def tick() -> None:
        while not done.wait(1.0):
            if bar.n < bar.total - 1:  # a slower machine holds at the end rather than overflowing
                bar.update()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        bar.close()
