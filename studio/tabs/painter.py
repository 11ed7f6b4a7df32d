"""Your own painter: a painting of yours added to a copy of a family by training only its own (γ, β) rows
for a time budget (the add-a-painter path of ``python -m train --init``), with the loss curve and the
sample photos shown as they improve; saved as a new family in the output folder, never over a shipped one.
Then, where the family has a fast version, the new painter is taught to a copy of it too (the same path of
``python -m train.distill --init``), so previews and the live view paint it at the fast family's speed.
Stop (or a page closed) ends either stage at its next step, keeping what it has learnt."""

from __future__ import annotations

import queue
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
import torch

from infer.painters import FAST_SUFFIX, fast_files
from studio.context import Studio
from studio.jobs import JOBS, Worker, shown
from studio.library import family
from studio.uploads import UploadError, photo_upload, read_photo, slider
from train.config import TrainConfig
from train.distill import DistillConfig, distill
from train.trainer import train

#: Training settings of an added painter on a budget: the sizes the add-a-painter experiment measured
#: (scripts/experiments/add_painter.py), logged often enough for a live curve.
IMAGE_SIZE, STYLE_SIZE, STYLE_WEIGHT, BATCH = 128, 256, 4.0, 4
LOG_EVERY, SAMPLE_EVERY = 10, 50
#: Its fast version: a quarter of the budget (2 minutes gave most of what 5 did, measured on Picabia's
#: Udnie: 22.9 and 23.1 dB from the full painter), one crop per photo for the teacher to paint, and the
#: loss weights of the shipped fast family's last runs.
FAST_SHARE, FAST_CROPS, FAST_STYLE_WEIGHT, FAST_TEMPORAL_WEIGHT = 0.25, 1, 4.0, 60.0
#: The shortest fast lesson, in minutes, whatever the budget: a quarter of a 5-minute budget (75 s) made 3
#: steps on 2 cores once the teacher had painted its pictures; 2 minutes teach most of what 5 do.
FAST_MINUTES_MIN = 2.0


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
                minutes = slider(0.25, 60, value=5, step=0.25, label="Time budget (minutes)")
                fast_too = gr.Checkbox(True, label="Teach it to the fast family too, for previews and the live view "
                                                   "(a quarter of the budget more)", elem_id="painter-fast")
                with gr.Row():
                    go = gr.Button("Train", variant="primary", interactive=ready, elem_id="painter-train")
                    halt = gr.Button("Stop and keep it", variant="stop", elem_id="painter-stop")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="painter-status")
                # No fixed height: Gradio cuts the legend off below a fixed one (gradio 6, Vega-Lite).
                curve = gr.LinePlot(x="step", y="loss", color="term", label="Loss (lower is better)",
                                    elem_id="painter-curve")
                samples = gr.Image(label="Sample photos (above) and how your painter paints them (below)",
                                   interactive=False)

        @shown
        def add_painter(request: gr.Request, path: str | None, text: str, family_name: str, budget: float,
                        fast: bool, progress: gr.Progress = gr.Progress()  # noqa: B008
                        ) -> Iterator[tuple[Any, Any, str]]:
            new = painter_name(text)
            joined = family(family_name)
            if new in joined.painters:
                raise UploadError(f"{family_name} already has a painter called {new}: choose another name")
            read_photo(path, 10**6, kind="painting")  # a readable picture, or one message
            styles = cfg.out / "styles"
            styles.mkdir(parents=True, exist_ok=True)
            style = styles / f"{new}{Path(path).suffix.lower()}"  # the painter takes the file's name
            shutil.copyfile(path, style)
            run = TrainConfig(style=[str(style)], photos=cfg.photos, name=f"{family_name}_{new}",
                              out_dir=str(cfg.painters), log_dir=str(cfg.out / "runs"), vgg_weights=cfg.vgg_weights,
                              init=str(joined.path), image_size=IMAGE_SIZE, style_size=STYLE_SIZE,
                              style_weight=[STYLE_WEIGHT], batch_size=BATCH, steps=10**6,
                              time_limit=f"{budget:g}m", log_every=LOG_EVERY, sample_every=SAMPLE_EVERY,
                              device=cfg.device, overwrite=True)
            updates: queue.Queue = queue.Queue()
            stop = studio.cancels.start(request.session_hash)
            worker = Worker(lambda: train(run, on_log=lambda points, grid: updates.put(
                (list(points), None if grid is None else _picture(grid))), stop=stop))
            try:
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
                card = worker.outcome()
                done = (f"**{new}** joined **{card['name']}** after {card['steps']} steps: pick {card['name']} in "
                        "any painter menu.")
                built = [card["name"]]
                fast_base = fast_files(joined.path).pt
                if fast and stop.is_set():
                    done += " Stopped before its fast version was made: previews and the live view paint it whole."
                elif fast and fast_base is None:
                    done += f" ({family_name} has no fast version to teach it to.)"
                elif fast:
                    yield gr.skip(), gr.skip(), done + " Now teaching it to the fast family…"
                    lesson_minutes = max(budget * FAST_SHARE, FAST_MINUTES_MIN)
                    lesson = DistillConfig(teacher=str(cfg.painters / f"{card['name']}.pt"), photos=cfg.photos,
                                           name=card["name"] + FAST_SUFFIX, out_dir=str(cfg.painters),
                                           log_dir=str(cfg.out / "runs"), vgg_weights=cfg.vgg_weights,
                                           init=str(fast_base), painters=card["trained"], crops_per_photo=FAST_CROPS,
                                           style_weight=FAST_STYLE_WEIGHT, temporal_weight=FAST_TEMPORAL_WEIGHT,
                                           steps=10**6, time_limit=f"{lesson_minutes:g}m", device=cfg.device,
                                           overwrite=True)
                    tick, worker = time.perf_counter(), Worker(lambda: distill(lesson, stop))
                    while worker.is_alive():
                        worker.join(2.0)
                        yield gr.skip(), gr.skip(), (f"{done} Teaching it to the fast family: "
                                                     f"{time.perf_counter() - tick:.0f} s; the teacher paints the "
                                                     f"lesson's pictures first, then {lesson_minutes:g} minutes of "
                                                     "lesson")
                    taught = worker.outcome()
                    # the teacher's pictures (about 100 MB) served this lesson only
                    (cfg.out / "runs" / taught["name"] / "teacher.pt").unlink(missing_ok=True)
                    built.append(taught["name"])
                    done += (f" Previews and the live view paint it with **{taught['name']}** ({taught['steps']} "
                             f"steps in {time.perf_counter() - tick:.0f} s).")
            finally:  # training, stopped, keeps what it has learnt
                studio.cancels.finish(request.session_hash, stop, worker)
            if studio.build_for_cpu(built, f"prebuild_{card['name']}.log") is not None:
                done += (" It is being built for this CPU in the background (a few minutes, once): until then it "
                         "paints uncompiled, at about half speed.")
            yield gr.skip(), gr.skip(), done

        def stop_training(request: gr.Request) -> str:
            if studio.cancels.cancel(request.session_hash):
                return "stopping after this step: what it has learnt is kept…"
            return "nothing is training"

        job = go.click(add_painter, [painting, name, base, minutes, fast_too], [curve, samples, status],
                       concurrency_id=JOBS, concurrency_limit=1)
        halt.click(stop_training, None, status, queue=False)
        return job
