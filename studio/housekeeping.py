"""Old uploads and lesson caches removed while the studio serves, so its output folder stops growing.

Gradio keeps a copy of every upload, preview and result in the uploads folder, and each fast lesson of a new
painter leaves the teacher's pictures (``runs/<name>/teacher.pt``, about 100 MB) behind. Results the user
asked for (photos/, videos/, compare/, painters/) are never touched.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)
#: How often the folder is swept while the studio serves.
SWEEP_EVERY_S = 600


def remove_old(folder: Path, pattern: str, max_age_s: float, now: float | None = None) -> tuple[int, int]:
    """Delete the files under ``folder`` matching ``pattern`` not modified for ``max_age_s``; (files, bytes)."""
    now = time.time() if now is None else now
    count = size = 0
    for path in folder.rglob(pattern) if folder.is_dir() else []:
        try:
            stat = path.stat()
            if path.is_file() and now - stat.st_mtime > max_age_s:
                path.unlink()
                count, size = count + 1, size + stat.st_size
        except OSError:  # removed meanwhile, or not ours to remove: the next sweep tries again
            continue
    return count, size


def sweep(out: Path, keep_uploads_s: float, now: float | None = None) -> tuple[int, int]:
    """One pass over the output folder: uploads older than ``keep_uploads_s``, lesson caches older than an hour
    (a lesson running now rewrites nothing there, but one hour is longer than any lesson the page starts)."""
    uploads = remove_old(out / "uploads", "*", keep_uploads_s, now)
    caches = remove_old(out / "runs", "teacher.pt", 3600, now)
    return uploads[0] + caches[0], uploads[1] + caches[1]


def in_background(out: Path, keep_uploads_s: float) -> threading.Thread:
    """Sweep now and every ``SWEEP_EVERY_S`` in a daemon thread (it ends with the server)."""
    def loop() -> None:
        while True:
            count, size = sweep(out, keep_uploads_s)
            if count:
                log.info("removed %d old uploads and caches (%.0f MB) from %s", count, size / 1e6, out)
            time.sleep(SWEEP_EVERY_S)

    thread = threading.Thread(target=loop, name="housekeeping", daemon=True)
    thread.start()
    return thread
