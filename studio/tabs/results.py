"""Your results: everything painted so far, read from the output folder, so it is there after a reload."""

from __future__ import annotations

import gradio as gr

from studio.context import Studio
from studio.results import listed

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def build(studio: Studio) -> None:
    out = studio.cfg.out
    with gr.Tab("Your results", id="results"):
        refresh = gr.Button("Refresh")
        photos = gr.Gallery(label="Photos", columns=4, height=360, elem_id="results-photos")
        files = gr.File(label="Clips and photos to download", file_count="multiple", interactive=False,
                        elem_id="results-files")

        def found() -> tuple[list[str], list[str]]:
            pictures = [str(p) for p in listed(out, "photos", PHOTO_SUFFIXES)]
            return pictures, [str(p) for p in listed(out, "videos", (".mp4",))] + pictures

        refresh.click(found, None, [photos, files], queue=False)
        studio.on_load.append((lambda: found()[0], photos))
        studio.on_load.append((lambda: found()[1], files))
