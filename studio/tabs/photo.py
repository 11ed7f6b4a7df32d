"""Photo: drop a photo, pick or mix painters, see a quick preview as the controls move, then paint it at
full size, compare before and after, and download it."""

from __future__ import annotations

import functools
import shlex
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from infer.controls import STROKE_REFERENCE_SIDE, picture_stroke_size
from infer.stylizer import Stylizer
from infer.tiles import thumbnail
from studio.context import Studio
from studio.jobs import INTERACTIVE, JOBS, shown
from studio.library import blend_text, family
from studio.results import new_path
from studio.tabs.mixer import LIGHT_LABEL, Mixer
from studio.uploads import Photo, UploadError, photo_upload, read_photo, slider

#: Longest side of the preview as shown. It is painted (by the fast family where there is one) at up to
#: STROKE_REFERENCE_SIDE: a big photo's painter sees that many pixels, so its preview paints them too.
PREVIEW_SIDE = 512


@functools.lru_cache(maxsize=8)
def _preview_photo(path: str, modified: float, side: int) -> Photo:
    """The photo at preview size, decoded once per upload however often the sliders move."""
    return read_photo(path, side, "previewed")


def stroke_sizes(slider: float, side: int, preview_side: int) -> tuple[float, float]:
    """The stroke sizes of the painting of a photo painted at ``side`` px and of its preview painted at
    ``preview_side``: the slider times the photo's own (``picture_stroke_size``), and for the preview
    the same strokes relative to the picture, so that the preview is the painting, smaller."""
    painting = slider * picture_stroke_size(side)
    return painting, painting * preview_side / side


def command_line(photo: str, family_name: str, weights: dict[str, float], strength: float, colors: bool,
                 stroke: float | None, output: Path, max_size: int | None = None, painters_dir: Path | None = None,
                 light: float = 0.0) -> str:
    """The ``python -m infer image`` command that paints the same picture, every word shell-quoted: a file
    named ``x'; touch INJECTED; echo 'y.png`` is pasted as a name, not as commands.

    ``max_size``: the side the page scaled the photo down to; ``painters_dir``: where a painter made in the
    studio lives (the command finds it there, not in checkpoints/).
    """
    words = ["python", "-m", "infer", "image", photo, "-o", str(output), "-m", family_name, "--blend",
             blend_text(weights)]
    words += ["--strength", f"{strength:g}"] if strength < 1 else []
    words += ["--preserve-colors"] if colors else []
    words += ["--keep-light", f"{light:g}"] if light else []
    words += ["--stroke-size", f"{stroke:.4g}"] if stroke is not None else []
    words += ["--max-size", str(max_size)] if max_size else []
    words += ["--painters-dir", str(painters_dir)] if painters_dir else []
    return shlex.join(words)


def build(studio: Studio) -> None:
    cfg = studio.cfg
    with gr.Tab("Photo", id="photo"):
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_upload(label="Photo: drop it here", sources=["upload", "clipboard"], height=280,
                                     elem_id="photo-input")
                gallery = gr.Gallery(label="Painters (the painting, and a cat it painted): click to pick one",
                                     columns=2, height=480, allow_preview=False, object_fit="contain",
                                     elem_id="painter-gallery")
                mixer = Mixer(studio)
                strength = slider(0, 1, value=1.0, step=0.05, label="Strength (0: the photo, 1: the painting)")
                colors = gr.Checkbox(label="Keep the photo's colours")
                light = slider(0, 1, value=0.0, step=0.1, label=LIGHT_LABEL)
                stroke = slider(0.5, 4, value=1.0, step=0.25, label="Stroke size (×)",
                                info="× the photo's own size: a big photo is painted as boldly as a small one")
            with gr.Column(scale=2):
                preview = gr.Image(label=f"Quick preview ({PREVIEW_SIDE} px, fast painters)", interactive=False,
                                   height=360, elem_id="photo-preview", format="png")
                preview_note = gr.Markdown(elem_id="photo-preview-note")
                paint = gr.Button("Paint full size", variant="primary", elem_id="photo-paint")
                result = gr.ImageSlider(label="Before / after", interactive=False, elem_id="photo-result")
                download = gr.File(label="Download", interactive=False, elem_id="photo-download")
                info = gr.Markdown(elem_id="photo-info")
        controls = [photo, *mixer.inputs, strength, colors, light, stroke]

        def cards(name: str) -> list[tuple[str, str]]:
            found = family(name)
            return [(str(studio.library.card(found, painter, studio.example)), painter) for painter in found.painters]

        @shown
        def show_preview(path: str | None, name: str, *values: Any) -> tuple[np.ndarray | None, str]:
            """The preview, or none and why under it: a bad photo is said once, in place, and the last photo's
            preview does not stay up as if it were this one's."""
            if not path:
                return None, ""
            *sliders, strength_value, keep, lit, stroke_size = values
            try:
                small = _preview_photo(path, Path(path).stat().st_mtime, min(STROKE_REFERENCE_SIDE, cfg.max_side))
            except UploadError as exc:
                return None, f"⚠ {exc}"
            _, strokes = stroke_sizes(stroke_size, min(small.side, cfg.max_side), max(small.pixels.shape[:2]))
            stylizer = studio.library.stylizer(name, Mixer.weights(name, sliders), strength_value, keep, strokes,
                                               fast=True, keep_light=lit)
            return thumbnail(stylizer.image(small.pixels), PREVIEW_SIDE), ""

        @shown
        def paint_full(path: str | None, name: str, *values: Any) -> tuple[Any, str, str]:
            *sliders, strength_value, keep, lit, stroke_size = values
            checked = read_photo(path, cfg.max_side)  # a readable photo, or one message; its pixels are not kept
            note, side = checked.note, min(checked.side, cfg.max_side)
            del checked
            weights = Mixer.weights(name, sliders)
            strokes = None if stroke_size == 1 else stroke_sizes(stroke_size, side, side)[0]  # None: the photo's own
            stylizer = Stylizer(name, device=cfg.device, blend=blend_text(weights), strength=strength_value,
                                preserve_colors=keep, stroke_size=strokes, keep_light=lit)
            out = new_path(cfg.out, "photos", f"{Path(path).stem}-{stylizer.name}", ".png")
            tick = time.perf_counter()
            stylizer.file(path, out, cfg.max_side)
            seconds = time.perf_counter() - tick
            with Image.open(out) as painted:  # the size painted at, from the file's header
                w, h = painted.size
            made_here = family(name).path.resolve().is_relative_to(cfg.painters.resolve())
            again = command_line(path, name, weights, strength_value, keep, strokes, Path(out.name),
                                 cfg.max_side if note else None, cfg.painters if made_here else None, lit)
            strokes_used = stylizer.photo_stroke_size(max(w, h))
            said = (f", strokes ×{strokes_used:.2g}" + (" (sized to the photo)" if strokes is None else "")
                    if strokes_used != 1 else "")
            lines = [f"**{stylizer.name}**, {w}×{h} px in {seconds:.1f} s on {stylizer.engine.description}{said}",
                     f"The same from a terminal: `{again}`"]
            lines += [f"⚠ {note}"] if note else []
            return (path, str(out)), str(out), "\n\n".join(lines)  # the upload as it is: no re-encoding

        def pick(name: str, selected: gr.SelectData) -> list[dict[str, Any]]:
            return Mixer.only(name, family(name).painters[selected.index])

        for control in controls:
            control.change(show_preview, controls, [preview, preview_note], concurrency_id=INTERACTIVE,
                           concurrency_limit=1, trigger_mode="always_last", show_progress="minimal")
        mixer.menu.change(shown(cards), mixer.menu, gallery, queue=False)
        gallery.select(pick, mixer.menu, mixer.sliders, queue=False)
        paint.click(paint_full, controls, [result, download, info], concurrency_id=JOBS, concurrency_limit=1)
        studio.on_load.append((lambda: cards(studio.default_family()), gallery))
