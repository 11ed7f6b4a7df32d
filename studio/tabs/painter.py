"""Your own painter: a painting of yours added to a copy of a family by training only its own (γ, β) rows
for a time budget (the add-a-painter path of ``python -m train --init``), with the loss curve and the
sample photos shown as they improve; saved as a new family in the output folder, never over a shipped one."""

from __future__ import annotations

import queue
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import torch

from studio.context import Studio
from studio.jobs import JOBS, shown
from studio.library import family
from studio.uploads import UploadError, photo_upload, read_photo
from train.config import TrainConfig
from train.trainer import train

#: Training settings of an added painter on a budget: the sizes the add-a-painter experiment measured
#: (scripts/add_painter_experiment.py), logged often enough for a live curve.
IMAGE_SIZE, STYLE_SIZE, STYLE_WEIGHT, BATCH = 128, 256, 4.0, 4
LOG_EVERY, SAMPLE_EVERY = 10, 50


def painter_name(text: str) -> str:
    name = text.strip().replace(" ", "_")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", name):
        raise UploadError("name your painter with letters, digits and _ (starting with a letter, at most 40)")
    return name


def _picture(grid: torch.Tensor) -> np.ndarray:
    return (grid.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def build(studio: Studio) -> gr.events.Dependency:
    """The tab; returns the training event, which the page follows by refreshing every family menu."""
    cfg = studio.cfg
    with gr.Tab("Your painter", id="painter"):
        ready = bool(cfg.photos) and Path(cfg.photos).is_dir()
        gr.Markdown("Upload a painting (your own!), name it and choose a time budget: it joins a copy of a family "
                    "and appears in every painter menu when done." + ("" if ready else
                    "\n\n⚠ No training photos were found: start the studio with `--photos <folder of photos>`."))
        with gr.Row():
            with gr.Column(scale=1):
                painting = photo_upload(label="Your painting", sources=["upload"], height=240,
                                        elem_id="painter-input")
                name = gr.Textbox("my_painting", label="Its name", elem_id="painter-name")
                base = gr.Dropdown(studio.family_names(), value=studio.default_family(),
                                   label="Family to join (a copy; the family itself is kept)")
                studio.family_menus.append(base)
                minutes = gr.Slider(0.25, 60, value=5, step=0.25, label="Time budget (minutes)")
                go = gr.Button("Train", variant="primary", interactive=ready, elem_id="painter-train")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="painter-status")
                curve = gr.LinePlot(x="step", y="loss", color="term", label="Loss (lower is better)", height=260)
                samples = gr.Image(label="Sample photos (above) and how your painter paints them (below)",
                                   interactive=False)

        @shown
        def add_painter(path: str | None, text: str, family_name: str, budget: float,
                        progress: gr.Progress = gr.Progress()  # noqa: B008
                        ) -> Iterator[tuple[Any, Any, str]]:
            new = painter_name(text)
            if new in family(family_name).painters:
                raise UploadError(f"{family_name} already has a painter called {new}: choose another name")
            read_photo(path, 10**6)  # a readable picture, or one message
            styles = cfg.out / "styles"
            styles.mkdir(parents=True, exist_ok=True)
            style = styles / f"{new}{Path(path).suffix.lower()}"  # the painter takes the file's name
            shutil.copyfile(path, style)
            run = TrainConfig(style=[str(style)], photos=cfg.photos, name=f"{family_name}_{new}",
                              out_dir=str(cfg.painters), log_dir=str(cfg.out / "runs"), vgg_weights=cfg.vgg_weights,
                              init=str(family(family_name).path), image_size=IMAGE_SIZE, style_size=STYLE_SIZE,
                              style_weight=[STYLE_WEIGHT], batch_size=BATCH, steps=10**6,
                              time_limit=f"{budget:g}m", log_every=LOG_EVERY, sample_every=SAMPLE_EVERY,
                              device=cfg.device, overwrite=True)
            updates: queue.Queue = queue.Queue()
            outcome: dict[str, Any] = {}

            def work() -> None:
                try:
                    outcome["card"] = train(run, on_log=lambda points, grid: updates.put(
                        (list(points), None if grid is None else _picture(grid))))
                except BaseException as exc:  # noqa: BLE001 - raised again in the page's thread
                    outcome["error"] = exc

            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            yield gr.skip(), gr.skip(), f"preparing: reading {cfg.photos} and the style of {new}…"
            while worker.is_alive() or not updates.empty():
                worker.join(1.0)
                points, grid = None, None
                while not updates.empty():
                    points, latest = updates.get()
                    grid = latest if latest is not None else grid
                if points:
                    frame = pd.DataFrame([{"step": p["step"], "term": term, "loss": p[term]}
                                          for p in points for term in ("total", "style", "content")])
                    seconds = points[-1]["time_s"]
                    progress(min(1.0, seconds / (budget * 60)), desc="training")
                    yield frame, grid if grid is not None else gr.skip(), (
                        f"step {points[-1]['step']} · {seconds:.0f} s of {budget * 60:.0f} s · loss "
                        f"{points[-1]['total']:.3f}")
            if "error" in outcome:
                raise outcome["error"]
            card = outcome["card"]
            done = (f"**{new}** joined **{card['name']}** after {card['steps']} steps: pick {card['name']} in any "
                    "painter menu.")
            if studio.build_for_cpu([card["name"]], f"prebuild_{card['name']}.log") is not None:
                done += (" It is being built for this CPU in the background (a few minutes, once): until then it "
                         "paints uncompiled, at about half speed.")
            yield gr.skip(), gr.skip(), done

        return go.click(add_painter, [painting, name, base, minutes], [curve, samples, status], concurrency_id=JOBS,
                        concurrency_limit=1)
