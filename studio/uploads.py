"""What a browser sends, checked before any work: a photo or clip the studio can paint, or one readable
message saying why not (a text file named .jpg, an empty clip); what is too big is scaled down, and said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from infer.video import ClipInfo, frame_size, probe
from nets.errors import UserError
from nets.images import ImageReadError, fit_longest_side, open_rgb
from nets.transformer import MIN_SIDE


class UploadError(UserError):
    """An upload the studio cannot use; the message is shown in the page."""


def photo_upload(**options: Any) -> gr.Image:
    """Gradio's image drop zone, handing over the uploaded file itself (its path, as it came: no re-encoding,
    so a photo is painted exactly as ``python -m infer image`` paints the file). A file Gradio cannot open
    reaches the handler too, whose check says what is wrong in words, where Gradio would only fail. (Its
    check is wrapped on the instance: a subclass of a Gradio component makes Gradio write a .pyi file
    beside this module.)"""
    component = gr.Image(type="filepath", image_mode=None, **options)
    checked = component.preprocess

    def preprocess(payload: Any) -> str | None:
        try:
            return checked(payload)
        except Exception:  # noqa: BLE001 - not an image: read_photo says so in the page
            return None if payload is None or payload.path is None else str(payload.path)

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component


def _named(path: str | Path | None, kind: str) -> Path:
    if not path:
        raise UploadError(f"drop a {kind} first")
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise UploadError(f"{path.name} is empty (0 bytes): upload the {kind} again")
    return path


@dataclass
class Photo:
    pixels: np.ndarray  # H×W×3 uint8, upright
    note: str  # "" or what was done to it (scaled down)


def read_photo(path: str | Path | None, max_side: int, purpose: str = "painted") -> Photo:
    """The uploaded photo, upright and in RGB, scaled down to ``max_side`` if bigger (and said so)."""
    path = _named(path, "photo")
    try:
        rgb = open_rgb(path)
    except ImageReadError:
        raise UploadError(f"{path.name} is not a photo this studio can read: upload a JPEG, PNG, WebP or TIFF "
                          f"photo") from None
    if min(rgb.size) < MIN_SIDE:
        raise UploadError(f"{path.name} is {rgb.width}×{rgb.height} px: both sides must be at least {MIN_SIDE} px")
    note = ""
    if max(rgb.size) > max_side:
        note = (f"{path.name} is {rgb.width}×{rgb.height} px: {purpose} at most {max_side} px on its longest side "
                f"here (the command line paints any size)")
        rgb = fit_longest_side(rgb, max_side, enlarge=False)
    return Photo(np.asarray(rgb), note)


@dataclass
class Clip:
    path: Path
    info: ClipInfo
    max_size: int | None  # the longest side it is rendered at, if scaled down
    note: str


def read_clip(path: str | Path | None, max_side: int) -> Clip:
    """The uploaded clip's facts; a clip bigger than ``max_side`` is rendered scaled down to it (and said)."""
    path = _named(path, "clip")
    try:
        info = probe(path)
    except UserError as exc:
        raise UploadError(f"{path.name} is not a clip this studio can read ({exc})") from None
    if max(info.width, info.height) <= max_side:
        return Clip(path, info, None, "")
    width, height = frame_size(info, max_side)
    return Clip(path, info, max_side, f"{path.name} is {info.width}×{info.height}: rendered at {width}×{height} "
                                      f"here (the command line renders any size)")
