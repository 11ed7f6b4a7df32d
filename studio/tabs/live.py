"""Live: the browser's camera painted frame by frame by the fast family, the mixer and strength working while
it runs (painters mixed "like a DJ"), with the frames/s it reaches."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import cv2
import gradio as gr
import numpy as np

from studio.context import Studio
from studio.jobs import INTERACTIVE, Worker, shown
from studio.tabs.mixer import Mixer
from studio.uploads import slider

#: The frame sizes offered: width × height painted (the camera's picture is cropped to fit, then scaled).
SIZES = {"320×240": (320, 240), "640×360": (640, 360)}
#: Frames/s is the mean over this many of the last frames.
WINDOW = 10


def fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` cropped to the aspect of ``size`` around its centre and scaled to it."""
    w, h = size
    fh, fw = frame.shape[:2]
    scale = max(w / fw, h / fh)
    cw, ch = round(w / scale), round(h / scale)
    x, y = (fw - cw) // 2, (fh - ch) // 2
    return cv2.resize(frame[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA)


class LivePainter:
    """Paints one camera frame with the mixer's current settings and keeps each session's frame times.

    The first frame of a size may take a minute (the painter compiled for it, where the machine compiles):
    that frame is painted beside the page, which meanwhile shows the camera and says what is happening.
    """

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.times: dict[str, deque[float]] = {}
        self.warming: dict[tuple[int, str], tuple[Worker, float]] = {}  # (network, size) -> its first frame

    def paint(self, request: gr.Request, frame: np.ndarray | None, size: str, name: str, *values: Any
              ) -> tuple[np.ndarray | None, str]:
        if frame is None:
            return None, ""
        *sliders, strength = values
        stylizer = self.studio.library.stylizer(name, Mixer.weights(name, sliders), strength, fast=True,
                                                stream=True)
        picture = fit(frame[..., :3], SIZES[size])
        key = (id(self.studio.library.network(name, True, True)), size)
        if key not in self.warming:
            self.warming[key] = (Worker(lambda: stylizer.image(picture)), time.perf_counter())
        worker, started = self.warming[key]
        if worker.is_alive():
            return picture, (f"preparing the painter for {size} (compiling it for this size where the machine "
                             f"can, once): {time.perf_counter() - started:.0f} s…")
        if worker.error is not None:  # said in the page; the next frame tries again
            del self.warming[key]
            worker.outcome()
        painted = stylizer.image(picture)
        times = self.times.setdefault(request.session_hash, deque(maxlen=WINDOW))
        times.append(time.perf_counter())
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return painted, f"{rate:.1f} frames/s at {size} ({stylizer.engine.description})"


def build(studio: Studio) -> None:
    with gr.Tab("Live", id="live"):
        gr.Markdown("Allow the camera and press Record, then move the sliders while it runs. The first seconds "
                    "prepare the painter for the size (where the machine can compile, it does).")
        with gr.Row():
            with gr.Column(scale=1):
                size = gr.Radio(list(SIZES), value="320×240", label="Size")
                mixer = Mixer(studio)
                strength = slider(0, 1, value=1.0, step=0.05, label="Strength")
            with gr.Column(scale=2):
                with gr.Row():
                    camera = gr.Image(sources=["webcam"], streaming=True, label="Camera", elem_id="live-camera")
                    painted = gr.Image(label="Painted", interactive=False, elem_id="live-painted", format="jpeg")
                rate = gr.Markdown(elem_id="live-rate")
        camera.stream(shown(LivePainter(studio).paint), [camera, size, *mixer.inputs, strength], [painted, rate],
                      stream_every=0.05, concurrency_id=INTERACTIVE, concurrency_limit=1, show_progress="hidden")
