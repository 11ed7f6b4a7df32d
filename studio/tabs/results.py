"""Your results: everything painted so far, read from the output folder, so it is there after a reload; any of
them can be deleted for good."""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.context import Studio
from studio.jobs import shown
from studio.results import listed, remove

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def build(studio: Studio) -> None:
    out = studio.cfg.out
    with gr.Tab("Your results", id="results") as tab:
        refresh = gr.Button("Refresh")
        photos = gr.Gallery(label="Photos", columns=4, height=360, elem_id="results-photos")
        files = gr.File(label="Clips and photos to download", file_count="multiple", interactive=False,
                        elem_id="results-files")
        with gr.Row():
            doomed = gr.Dropdown([], label="Delete a result (from the disk, for good)", elem_id="results-doomed",
                                 scale=3)
            delete = gr.Button("Delete", variant="stop", elem_id="results-delete", scale=1)
        said = gr.Markdown(elem_id="results-said")

        def found() -> tuple[list[str], list[str]]:
            pictures = [str(p) for p in listed(out, "photos", PHOTO_SUFFIXES)]
            return pictures, [str(p) for p in listed(out, "videos", (".mp4",))] + pictures

        def shown_now() -> tuple[list[str], list[str], dict[str, Any]]:
            pictures, everything = found()
            names = [p.rsplit("/", 1)[-1] for p in everything]
            return pictures, everything, gr.update(choices=names, value=None)

        @shown
        def delete_one(name: str | None) -> tuple[list[str], list[str], dict[str, Any], str]:
            if not name:
                return *shown_now(), "pick a result to delete first"
            remove(out, name, ("photos", "videos"))
            return *shown_now(), f"deleted {name}"

        refresh.click(shown_now, None, [photos, files, doomed], queue=False)
        tab.select(shown_now, None, [photos, files, doomed], queue=False)  # what was made since the page loaded
        delete.click(delete_one, doomed, [photos, files, doomed, said], queue=False)
        studio.on_load.append((lambda: found()[0], photos))
        studio.on_load.append((lambda: found()[1], files))
        studio.on_load.append((lambda: shown_now()[2], doomed))
