"""Results kept in the output folder: each written under a new name (atomically, so a cancelled or failed
job leaves nothing half-written), listed again after a page reload."""

from __future__ import annotations

import re
import time
from pathlib import Path

#: The kinds of result, each in its own folder of the output folder.
KINDS = ("photos", "videos", "compare")


#: The longest slug: room for a photo's name and a blend of four painters with their shares and settings.
SLUG_LENGTH = 120


def slug(text: str) -> str:
    """A file-name-safe version of a name a user typed or a painter's mix: decimal points kept (strength 0.5 stays
    0.5), cut at a word's end, never inside a number."""
    safe = re.sub(r"-*\.-*", ".", re.sub(r"[^A-Za-z0-9_.-]+", "-", text)).strip("-.")
    if len(safe) > SLUG_LENGTH:
        safe = safe[:SLUG_LENGTH].rsplit("-", 1)[0]
    return safe or "result"


def new_path(output: Path, kind: str, stem: str, suffix: str) -> Path:
    """A name no result has yet: ``<output>/<kind>/<stem>-<time><suffix>``."""
    folder = output / kind
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{slug(stem)}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = folder / f"{base}{suffix}", 1
    while path.exists():
        k += 1
        path = folder / f"{base}-{k}{suffix}"
    return path


def listed(output: Path, kind: str, suffixes: tuple[str, ...]) -> list[Path]:
    """The finished results of a kind, newest first (a temporary ``.…part`` file is not one)."""
    folder = output / kind
    found = [p for p in folder.glob("*") if p.suffix.lower() in suffixes and not p.name.startswith(".")] \
        if folder.is_dir() else []
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def remove(output: Path, name: str, kinds: tuple[str, ...]) -> None:
    """Delete the result called ``name`` (a file name, as listed) from one of ``kinds``' folders; a name that is
    not a result there (a path, another folder's file) is refused."""
    from studio.uploads import UploadError  # the page's one-line message for a request it refuses

    for kind in kinds:
        candidate = output / kind / name
        if Path(name).name == name and not name.startswith(".") and candidate.is_file():
            candidate.unlink()
            return
    raise UploadError(f"{name} is not one of your results (it may be deleted already)")
