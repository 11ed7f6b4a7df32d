"""Compare: one photo, one painter, against the reference optimisation method (Gatys et al.) with an
iteration budget: both pictures and their numbers (style and content distance, seconds), as
``python -m infer compare`` reports them (the report folder is kept with the results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from infer.compare import CompareConfig, compare
from studio.context import Studio
from studio.jobs import JOBS, shown
from studio.library import family
from studio.results import new_path
from studio.uploads import photo_upload, read_photo, slider

COLUMNS = ["method", "painter", "style distance", "content distance", "seconds"]


def build(studio: Studio) -> None:
    cfg = studio.cfg
    with gr.Tab("Compare", id="compare"):
        gr.Markdown("A painter against the optimisation method it replaces, on your photo: lower style distance "
                    "is closer to the painting, lower content distance closer to the photo.")
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_upload(label="Photo", sources=["upload"], height=240, elem_id="compare-input")
                menu = gr.Dropdown(studio.family_names(), value=studio.default_family(), label="Family")
                studio.family_menus.append(menu)
                first = family(studio.default_family()).painters
                painter = gr.Dropdown(list(first), value=first[0], label="Painter")
                iterations = slider(10, 500, value=100, step=10, label="Reference iterations (L-BFGS)")
                size = slider(128, 512, value=256, step=32, label="Size (longest side, px)")
                go = gr.Button("Compare", variant="primary", elem_id="compare-go")
            with gr.Column(scale=2):
                with gr.Row():
                    fast = gr.Image(label="Painter (one pass)", interactive=False)
                    slow = gr.Image(label="Reference (optimised)", interactive=False)
                table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="compare-table")
                folder = gr.Markdown()
                report = gr.File(label="The report", file_count="multiple", interactive=False,
                                 elem_id="compare-report")

        @shown
        def run(path: str | None, _family: str, name: str, budget: float, side: float,
                progress: gr.Progress = gr.Progress(track_tqdm=True)  # noqa: B008 - the reference's own bar
                ) -> tuple[Any, Any, list[list[Any]], str, list[str]]:
            read_photo(path, 10**6)  # a readable picture, or one message
            out = new_path(cfg.out, "compare", f"{Path(path).stem}-{name}", "")
            metrics = compare(CompareConfig(inputs=[path], painters=[name], output=str(out), size=int(side),
                                            reference_iterations=int(budget), device=cfg.device,
                                            vgg_weights=cfg.vgg_weights))
            rows = [[m["method"], m["painter"], m["style_distance"], m["content_distance"], m["seconds_per_frame"]]
                    for m in metrics["methods"] if m["painter"] == name]
            stem = Path(path).stem
            images = out / "images"
            kept = [str(out / f) for f in ("report.md", "metrics.json", "contact_sheet.png") if (out / f).is_file()]
            return (str(images / name / f"{stem}.png"), str(images / f"reference-{name}" / f"{stem}.png"), rows,
                    f"Report (kept in `{out}`): download it below", kept)

        menu.change(lambda f: gr.update(choices=list(family(f).painters), value=family(f).painters[0]), menu, painter,
                    queue=False)
        go.click(run, [photo, menu, painter, iterations, size], [fast, slow, table, folder, report],
                 concurrency_id=JOBS, concurrency_limit=1)
