"""Finding a painter by name: a file in a painter folder, a painter inside a family there, or a path.

A painter file (``.pt``) may hold a family; its exported ONNX files sit beside it with the same stem.
Painter folders are searched in order: those in ``$PAINTERS_PATH`` (``--painters-dir`` adds one in front),
then the shipped ``checkpoints/``. ``-m NAME`` means the file ``NAME.pt`` / ``.onnx`` in the first folder
that has one (a whole family if it holds several), else the painter called NAME inside a family there.
Asked for speed (``fast``), a name is looked up in the fast version of its family (``<family>_fast``, a
small network distilled from it: ``train.distill``) where there is one.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from nets.files import file_sha256
from nets.painter import PainterFileError, read_painter

log = logging.getLogger(__name__)
#: The shipped painters: the last folder painter names are looked up in. Installed from a wheel (or ``pip install
#: .``) they are this package's data, ``infer/checkpoints/``; in a clone (and an editable install) ``checkpoints/``.
_INSTALLED = Path(__file__).resolve().parent / "checkpoints"
CHECKPOINTS = _INSTALLED if _INSTALLED.is_dir() else Path(__file__).resolve().parent.parent / "checkpoints"
#: The shipped painters' paintings (public domain), found by name and SHA-256 where their recorded path is not.
SHIPPED_STYLES = CHECKPOINTS / "styles"
#: A family's fast version is the painter file of its name with this suffix.
FAST_SUFFIX = "_fast"
#: Folders (separated by os.pathsep) searched for painters before ``checkpoints/``: painters trained with
#: ``--out-dir`` elsewhere are then found by name.
SEARCH_PATH_VARIABLE = "PAINTERS_PATH"


def search_first(folder: Path) -> None:
    """Look painter names up in ``folder`` before ``$PAINTERS_PATH`` and checkpoints/ (``--painters-dir``)."""
    searched = os.environ.get(SEARCH_PATH_VARIABLE)
    os.environ[SEARCH_PATH_VARIABLE] = os.pathsep.join([str(folder), *([searched] if searched else [])])


def painter_folders() -> list[Path]:
    """Where painter names are looked up, in order: ``$PAINTERS_PATH``, then the shipped ``checkpoints/``."""
    extra = [Path(p).expanduser() for p in os.environ.get(SEARCH_PATH_VARIABLE, "").split(os.pathsep) if p]
    return [*extra, CHECKPOINTS]


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


def style_image_of(record: dict, painter_file: Path) -> Path | None:
    """Where a painter's style image is now, wherever the command runs from; ``None`` if it is nowhere.

    The record keeps the path as given at training time, usually relative to the folder training ran in,
    which is not known later. So it is tried as written, then below each folder that holds the painter
    file (``checkpoints/`` and the folders above it), then by its name in ``checkpoints/styles/`` (the
    shipped painters' paintings, for a checkout without ../shared); where the record has the image's
    SHA-256, only a file with that hash counts, so another picture of the same name is never taken for it.
    """
    recorded = record.get("style_image")
    if not recorded:
        return None
    written = Path(recorded)
    anchors = [Path.cwd(), *painter_file.resolve().parents] if not written.is_absolute() else [Path("/")]
    digest = record.get("style_image_sha256")
    for candidate in [anchor / written for anchor in anchors] + [SHIPPED_STYLES / written.name]:
        if candidate.is_file() and (digest is None or file_sha256(candidate) == digest):
            return candidate
    return None


def _files(stem: Path) -> PainterFiles:
    found = (stem.with_name(stem.name + ext) for ext in (".pt", ".onnx", ".fp16.onnx"))
    return PainterFiles(*(p if p.is_file() else None for p in found))


def names_in(path: Path) -> list[str]:
    """The painters held by a painter file (``.pt``) or an exported one (``.onnx``)."""
    return [record["name"] for record in read_painter_records(path)]


def read_painter_records(path: Path) -> list[dict]:
    """The records (name, style image, numbers) of the painters held by a ``.pt`` or an exported ``.onnx``."""
    if path.suffix == ".pt":
        return read_painter(path)["painters"]
    meta = _onnx_meta(path)
    if "painters" in meta:
        return json.loads(meta["painters"])
    if "painter" in meta:
        return [{"name": meta["painter"]}]
    raise PainterFileError(f"{path} is an ONNX file but not an exported painter (no painter metadata)")


def _onnx_meta(path: Path) -> dict[str, str]:
    import onnx  # here, not at the top: importing it costs every command 0.7 s

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


def stale_export(pt: Path, exported: Path) -> str | None:
    """Why ``exported`` (an .onnx beside ``pt``) is not an export of ``pt`` as it is now, or None if it is:
    the graph records the SHA-256 of the checkpoint it was made from."""
    recorded = _onnx_meta(exported).get("source_sha256")
    if recorded is None:
        return f"{exported.name} does not say which checkpoint it was exported from"
    if recorded != file_sha256(pt):
        return f"{exported.name} was exported from another checkpoint than {pt.name} (retrained or replaced since)"
    return None


def painter_files(folder: Path = CHECKPOINTS, fast: bool = True) -> dict[str, list[str]]:
    """Every painter file stem in ``folder`` and the painters it holds; ``fast=False`` leaves out fast
    versions of families (``<family>_fast``), whose painters repeat the full family's names."""
    stems = sorted({p.name.split(".")[0] for p in folder.glob("*") if p.suffix in (".pt", ".onnx")})
    stems = [stem for stem in stems if fast or not stem.endswith(FAST_SUFFIX)]
    found = {}
    for stem in stems:
        files = _files(folder / stem)
        source = files.first
        if source is not None:
            found[stem] = names_in(source)
    return found


def every_painter_file(folders: list[Path] | None = None) -> dict[Path, list[str]]:
    """Every painter file (its checkpoint, else its export) in the painter folders and the painters it
    holds; a stem found in an earlier folder hides the same stem in a later one, as names are looked up."""
    found: dict[Path, list[str]] = {}
    seen: set[str] = set()
    for folder in folders if folders is not None else painter_folders():
        for stem, names in painter_files(folder).items() if folder.is_dir() else ():
            if stem not in seen:
                seen.add(stem)
                found[_files(folder / stem).first] = names
    return found


def find_painter(painter: str | os.PathLike, folders: list[Path] | None = None, fast: bool = False) -> PainterRef:
    """A painter name (looked up in ``folders``, by default ``painter_folders()``) or a path to a ``.pt`` or
    ``.onnx`` file; ``fast``: its family's fast version where there is one (else a warning and itself)."""
    ref = _find(painter, folders)
    return fast_version(ref) if fast else ref


def fast_files(source: Path) -> PainterFiles:
    """The files of the fast version of the family in ``source`` (``<family>_fast`` beside it), if any."""
    return _files(source.with_name(source.name.split(".")[0] + FAST_SUFFIX))


def fast_version(ref: PainterRef) -> PainterRef:
    """The same painter (or family) in ``<family>_fast`` beside its file, if that file holds it."""
    source = ref.files.first
    stem = source.name.split(".")[0]
    if stem.endswith(FAST_SUFFIX):
        return ref
    files = fast_files(source)
    if files.first is None or (ref.painter is not None and ref.painter not in names_in(files.first)):
        log.warning("%s has no fast version (%s%s): painting with the full one; %s", ref.painter or stem, stem,
                    FAST_SUFFIX, distill_tip(source))
        return ref
    return PainterRef(files, ref.painter)


def distill_tip(source: Path) -> str:
    """How to make the fast version of the family in ``source``: from the fast version of the family it
    grew from, where there is one (its new painters alone are taught: minutes), else a new student (hours)."""
    if source.suffix != ".pt":
        return "its .pt checkpoint can make one (python -m train.distill)"
    payload = read_painter(source)
    init = payload["config"].get("init")
    base = fast_files(Path(init)).pt if init else None
    family = [record["name"] for record in payload["painters"]]
    if base is None or family[: len(names := names_in(base))] != names:  # its painters first, as it grew
        return (f"make one with: python -m train.distill --teacher {source} --out-dir {source.parent} "
                "--photos <folder> (hours on a CPU)")
    return (f"make one with: python -m train.distill --teacher {source} --out-dir {source.parent} --init {base} "
            "--photos <folder> --steps 100000 --time-limit 2m")


def _find(painter: str | os.PathLike, folders: list[Path] | None) -> PainterRef:
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
    folders = folders if folders is not None else painter_folders()
    for folder in folders:
        files = _files(folder / str(painter))
        if any((files.pt, files.onnx, files.onnx_fp16)):
            return PainterRef(files)
    known = every_painter_file(folders)
    for source, names in known.items():
        if str(painter) in names:
            return PainterRef(_files(source.with_name(source.name.split(".")[0])), str(painter))
    listed = sorted({p.name.split(".")[0] for p in known} | {n for names in known.values() for n in names})
    raise PainterFileError(f"unknown painter {painter!r}; known: {', '.join(listed) or 'none yet'} (painters are "
                           f"looked up in ${SEARCH_PATH_VARIABLE}, --painters-dir and checkpoints/)")

