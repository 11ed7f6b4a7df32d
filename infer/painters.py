"""Finding a painter by name: a file in ``checkpoints/``, a painter inside a family there, or a path.

A painter file (``.pt``) may hold a family; its exported ONNX files sit beside it with the same stem.
``-m NAME`` means, in this order: the file ``checkpoints/NAME.pt`` / ``.onnx`` (a whole family if it holds
several), else the painter called NAME inside any family in ``checkpoints/``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import onnx

from nets.painter import PainterFileError, painter_names, read_painter

#: Where painter names are looked up: the shipped ``checkpoints/`` folder of this project.
CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


@dataclass
class PainterFiles:
    """The files of one painter file: the checkpoint and its exported ONNX variants."""

    pt: Path | None
    onnx: Path | None
    onnx_fp16: Path | None

    @property
    def first(self) -> Path | None:
        """The checkpoint, else an export: where the painter's own records are read."""
        return self.pt or self.onnx or self.onnx_fp16


@dataclass
class PainterRef:
    """What ``-m`` named: a painter file, and one painter in it (``None``: all of them)."""

    files: PainterFiles
    painter: str | None = None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def style_image_of(record: dict, painter_file: Path) -> Path | None:
    """Where a painter's style image is now, wherever the command runs from; ``None`` if it is nowhere.

    The record keeps the path as given at training time, usually relative to the folder training ran in,
    which is not known later. So it is tried as written, then below each folder that holds the painter
    file (``checkpoints/`` and the folders above it); where the record has the image's SHA-256, only a file
    with that hash counts, so another picture of the same name is never taken for it.
    """
    recorded = record.get("style_image")
    if not recorded:
        return None
    written = Path(recorded)
    anchors = [Path.cwd(), *painter_file.resolve().parents] if not written.is_absolute() else [Path("/")]
    digest = record.get("style_image_sha256")
    for candidate in (anchor / written for anchor in anchors):
        if candidate.is_file() and (digest is None or _sha256(candidate) == digest):
            return candidate
    return None


def _files(stem: Path) -> PainterFiles:
    found = (stem.with_name(stem.name + ext) for ext in (".pt", ".onnx", ".fp16.onnx"))
    return PainterFiles(*(p if p.is_file() else None for p in found))


def names_in(path: Path) -> list[str]:
    """The painters held by a painter file (``.pt``) or an exported one (``.onnx``)."""
    if path.suffix == ".pt":
        return painter_names(read_painter(path))
    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    if "painters" in meta:
        return [p["name"] for p in json.loads(meta["painters"])]
    if "painter" in meta:
        return [meta["painter"]]
    raise PainterFileError(f"{path} is an ONNX file but not an exported painter (no painter metadata)")


def painter_files(folder: Path = CHECKPOINTS) -> dict[str, list[str]]:
    """Every painter file stem in ``folder`` and the painters it holds."""
    stems = sorted({p.name.split(".")[0] for p in folder.glob("*") if p.suffix in (".pt", ".onnx")})
    found = {}
    for stem in stems:
        files = _files(folder / stem)
        source = files.first
        if source is not None:
            found[stem] = names_in(source)
    return found


def find_painter(painter: str | os.PathLike, folder: Path = CHECKPOINTS) -> PainterRef:
    """A painter name (looked up in ``folder``) or a path to a ``.pt`` or ``.onnx`` file."""
    path = Path(painter)
    if path.suffix in (".pt", ".onnx"):
        if not path.is_file():
            raise PainterFileError(f"no such painter file: {path}")
        if path.suffix == ".pt":
            return PainterRef(PainterFiles(path, None, None))
        fp16 = path.name.endswith(".fp16.onnx")
        return PainterRef(PainterFiles(None, None if fp16 else path, path if fp16 else None))
    if path.suffix or path.exists():
        raise PainterFileError(f"{path} is not a painter: give a name from checkpoints/ or a .pt or .onnx file")
    files = _files(folder / str(painter))
    if any((files.pt, files.onnx, files.onnx_fp16)):
        return PainterRef(files)
    known = painter_files(folder)
    for stem, names in known.items():
        if str(painter) in names:
            return PainterRef(_files(folder / stem), str(painter))
    listed = sorted(set(known) | {n for names in known.values() for n in names})
    raise PainterFileError(f"unknown painter {painter!r}; known: {', '.join(listed) or 'none yet'}")

