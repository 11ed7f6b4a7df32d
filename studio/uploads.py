"""What a browser sends, checked before any work: a photo or clip the studio can paint, or one readable
message saying why not (a text file named .jpg, an empty clip); what is too big is scaled down, and said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

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


def slider(minimum: float, maximum: float, **options: Any) -> gr.Slider:
    """Gradio's slider, whose number box may be typed past its ends: such a value is refused with one line in
    the page (its label and range), where Gradio would print a traceback in the server's terminal each time.
    (Wrapped on the instance, as ``photo_upload`` is.)"""
    component = gr.Slider(minimum, maximum, **options)
    checked = component.preprocess

    def preprocess(payload: Any) -> Any:
        if isinstance(payload, int | float) and not minimum <= payload <= maximum:
            raise gr.Error(f"{component.label or 'this slider'} is from {minimum:g} to {maximum:g}, not {payload:g}",
                           print_exception=False)
        return checked(payload)

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component


def _named(path: str | Path | None, kind: str) -> Path:
    if not path:
        raise UploadError(f"drop a {kind} first")
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise UploadError(f"{path.name} is empty (0 bytes): upload the {kind} again")
    return path


def _unreadable(path: Path, kind: str) -> str:
    """Why a picture cannot be read: cut short or damaged when its header names a format, else not a picture."""
    try:
        with Image.open(path) as image:
            found = image.format
    except (OSError, ValueError, Image.DecompressionBombError):
        found = None
    if found:
        return f"{path.name} is a damaged or incomplete {found} file (cut short while copying?): upload it again"
    return f"{path.name} is not a {kind} this studio can read: upload a JPEG, PNG, WebP or TIFF {kind}"


@dataclass
class Photo:
    pixels: np.ndarray  # H×W×3 uint8, upright
    note: str  # "" or what was done to it (scaled down)
    side: int  # the upload's longest side, before any scaling


def read_photo(path: str | Path | None, max_side: int, purpose: str = "painted", kind: str = "photo") -> Photo:
    """The uploaded photo, upright and in RGB, scaled down to ``max_side`` if bigger (and said so); ``kind``
    names it in the messages (a painting, in the painter tab)."""
    path = _named(path, kind)
    try:
        rgb = open_rgb(path)
    except ImageReadError:
        raise UploadError(_unreadable(path, kind)) from None
    if min(rgb.size) < MIN_SIDE:
        raise UploadError(f"{path.name} is {rgb.width}×{rgb.height} px: both sides must be at least {MIN_SIDE} px")
    note, side = "", max(rgb.size)
    if min(rgb.size) * max_side / max(rgb.size) < MIN_SIDE and max(rgb.size) > max_side:
        raise UploadError(f"{path.name} is {rgb.width}×{rgb.height} px, too narrow to be {purpose} at {max_side} px on "
                          f"its longest side (its short side would be under {MIN_SIDE} px)"
                          + ("; Paint full size paints it whole" if purpose == "previewed" else ""))
    if max(rgb.size) > max_side:
        note = (f"{path.name} is {rgb.width}×{rgb.height} px: {purpose} at most {max_side} px on its longest side "
                f"here (the command line paints any size)")
        rgb = fit_longest_side(rgb, max_side, enlarge=False)
    return Photo(np.asarray(rgb), note, side)


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


#: Video codecs and containers a browser plays (Chromium and Firefox alike); another clip still renders.
BROWSER_CODECS = ("h264", "vp8", "vp9", "av1")
BROWSER_CONTAINERS = (".mp4", ".webm", ".m4v", ".mov", ".mkv")


def playable_note(path: str | Path | None) -> str:
    """A line for a clip the page's player cannot show (an MJPEG .avi, a .ts): it renders all the same."""
    if not path:
        return ""
    try:
        info = probe(path)
    except UserError as exc:
        return f"⚠ {Path(path).name} is not a clip this studio can read ({exc})"
    if info.codec in BROWSER_CODECS and Path(path).suffix.lower() in BROWSER_CONTAINERS:
        return ""
    return (f"Your browser cannot play {Path(path).name} ({info.codec}, {info.width}×{info.height}), so the "
            "player above may say it is not playable: Render paints it all the same.")
