"""Painters prebuilt for this CPU while the studio serves: people who never open a terminal never type
``python -m infer prebuild``, yet a few minutes after the first start (once per machine and torch), photos,
previews and the live view paint at compiled speed (2-4x eager on 2 cores, docs/PERFORMANCE.md).

The build runs as ``python -m infer prebuild`` in its own process at low priority: the compiler then shares
neither the server's threads nor its priority. It ends with the server (Ctrl-C or a stop request): left
running, it would hold the CPU for minutes after the studio is gone. A build cut short leaves no package
(they are written whole or not at all), and the next start builds again.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from infer import prebuilt
from infer.painters import find_painter
from infer.plan import default_precision
from nets.device import cpp_compiler_found

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


def missing(names: Sequence[str], precision: str) -> list[str]:
    """The painters among ``names`` that have a checkpoint but no package for this machine yet."""
    files = {name: find_painter(name).files.pt for name in names}
    return [name for name, pt in files.items() if pt is not None and not prebuilt.package_path(pt, precision).is_file()]


@dataclass
class Build:
    """A background build, for the line the page shows while people wait: painting runs uncompiled (about
    half speed) until it ends, and they should know why and for how long."""

    names: list[str]
    log_path: Path
    process: subprocess.Popen
    started: float = field(default_factory=time.monotonic)
    state: str = "building"  # then "built", "failed" or "stopped"
    thread: threading.Thread | None = None

    def stop(self) -> None:
        """End the build if it still runs (the server is stopping)."""
        if self.process.poll() is not None:
            return
        self.state = "stopped"
        self.process.terminate()  # it ends as by Ctrl-C, deleting its unfinished package
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def line(self) -> str:
        names = ", ".join(self.names)
        if self.state == "building":
            minutes = (time.monotonic() - self.started) / 60
            return (f"⏳ Building {names} for this CPU in the background (for {minutes:.0f} min now; it takes a "
                    "few, once): until then painting runs uncompiled, at about half speed.")
        if self.state == "built":
            return f"✓ {names} built for this CPU: photos, previews and the live view paint at full speed."
        return f"Could not build {names} for this CPU (see {self.log_path}); painting works without them, slower."


def in_background(names: Sequence[str], log_path: Path, when_built: Callable[[], None],
                  precision: str = "auto") -> Build | None:
    """Build the packages ``names`` lack, then call ``when_built`` (the studio drops the networks it holds,
    so the next job opens the prebuilt ones). None where nothing is missing or no C++ compiler is found."""
    if precision == "auto":
        precision = default_precision(torch.device("cpu"), "prebuilt", True)
    todo = missing(names, precision)
    if not todo:
        return None
    if not cpp_compiler_found():
        log.info("painters run without prebuilding: no C++ compiler (Debian/Ubuntu: apt install g++)")
        return None
    log_path.parent.mkdir(parents=True, exist_ok=True)
    low_priority = ["nice", "-n", "10"] if shutil.which("nice") else []
    command = [*low_priority, sys.executable, "-m", "infer", "prebuild", *todo, "--precision", precision]
    with open(log_path, "w") as out:  # the child keeps its own copy of the file
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    log.info("building %s for this CPU in the background (a few minutes, once; %s)", ", ".join(todo), log_path)
    build = Build(todo, log_path, process)
    atexit.register(build.stop)

    def wait() -> None:
        code = process.wait()
        if build.state == "stopped":
            return
        if code == 0:
            log.info("painters built for this CPU: the next photo, preview and live view use them")
            when_built()
            build.state = "built"
        else:
            log.warning("could not prebuild the painters (%s); painting goes on without them", log_path)
            build.state = "failed"

    build.thread = threading.Thread(target=wait, name="prebuild", daemon=True)
    build.thread.start()
    return build
