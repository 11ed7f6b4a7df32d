"""Write-then-rename, so that a file at its final path is always complete.

A temporary file is named ``.<stem>.<pid>-<random>.part<suffix>`` beside its final path. A command stopped
by Ctrl-C or a stop request (``stop_requests_interrupt``) deletes it on its way out; a process killed
outright (kill -9, power loss) cannot, and the next write to the same path removes the leftovers whose
process is gone, and says so.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Read once at import (single-threaded then): os.umask can only be read by setting it.
_UMASK = os.umask(0)
os.umask(_UMASK)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def stop_requests_interrupt() -> None:
    """A stop request (SIGTERM: kill, systemd, docker stop) ends this process as Ctrl-C does: through its
    ``finally`` blocks, so that no unfinished file is left beside the user's outputs (by default it dies at once)."""
    if threading.current_thread() is threading.main_thread():  # where Python handles signals
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def remove_leftovers(final: Path) -> None:
    """Delete the temporary files of earlier writes to ``final`` whose process no longer runs."""
    pattern = re.compile(rf"\.{re.escape(final.stem)}\.(\d+)-[^.]+\.part{re.escape(final.suffix)}")
    for path in final.parent.glob(f".{glob.escape(final.stem)}.*.part{glob.escape(final.suffix)}"):
        match = pattern.fullmatch(path.name)
        if match and not _alive(int(match[1])):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                log.info("removed %s, left unfinished by an interrupted run", path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on failure delete it.

    The temporary file keeps the suffix of ``path`` so writers that look at the extension still work,
    and sits in the same folder so the rename is atomic.
    """
    final = Path(path)
    remove_leftovers(final)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.{os.getpid()}-", suffix=f".part{final.suffix}",
                               dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; give it the usual permissions
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, in hex: how painter files, style images and exports are recognised.

    Remembered per file as it is on disk (inode, size, modification time): opening a painter asks for its
    checkpoint's digest up to three times (its export, its prebuilt package, its style images)."""
    path = Path(path).resolve()
    stat = path.stat()
    return _sha256(path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: Path, inode: int, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: str | os.PathLike, data: Any) -> None:
    """``data`` as indented JSON at ``path``, complete or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")


def replace_folder(finished: Path, final: Path) -> None:
    """Rename the folder ``finished`` to ``final``; an existing ``final`` is removed only once it is replaced."""
    if final.exists():
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        os.replace(final, old)
        os.replace(finished, final)
        shutil.rmtree(old)
    else:
        os.replace(finished, final)
