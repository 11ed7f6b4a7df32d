"""Live: the browser's camera painted by the fast family at the painter's own speed, the mixer, strength and
stroke size acting on the next frame (painters mixed "like a DJ"). The frames travel over the studio's own
WebSocket (``studio.live_socket``), not through Gradio's queue."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.context import Studio
from studio.jobs import shown
from studio.library import family
from studio.live_socket import SIZES, Live, Settings
from studio.tabs.mixer import LIGHT_LABEL, Mixer
from studio.uploads import slider

SCRIPT = Path(__file__).with_name("live.js").read_text()
VIEW = """
<div class="live" data-key="${value.key}">
  <div class="live-pictures">
    <figure><video data-live="camera" muted playsinline></video><figcaption>Camera</figcaption></figure>
    <figure><canvas data-live="painted" width="320" height="240"></canvas><figcaption>Painted</figcaption></figure>
  </div>
  <button data-live="start" class="lg primary">Start camera</button>
  <p data-live="stats">Press Start camera and allow the camera.</p>
</div>
"""
CSS = """
.live-pictures { display: flex; gap: 12px; flex-wrap: wrap; }
.live-pictures figure { margin: 0; flex: 1 1 300px; }
.live-pictures video, .live-pictures canvas { width: 100%; max-height: 480px; object-fit: contain; background: #222; }
.live button { margin: 8px 0; padding: 6px 18px; }
"""


def build(studio: Studio) -> Live:
    """The Live tab; returns the channel its page talks to (``studio.app`` serves it on ``live_socket.ROUTE``)."""
    live = Live(studio)
    with gr.Tab("Live", id="live"):
        gr.Markdown("Press Start camera and allow the camera, then move the sliders while it runs: they act on "
                    "the next frame. The first seconds prepare the painter for the size (where the machine can "
                    "compile, it does).")
        with gr.Row():
            with gr.Column(scale=1):
                size = gr.Radio(list(SIZES), value="320×240", label="Size")
                mixer = Mixer(studio)
                strength = slider(0, 1, value=1.0, step=0.05, label="Strength", elem_id="live-strength")
                light = slider(0, 1, value=0.0, step=0.1, label=LIGHT_LABEL)
                stroke = slider(0.5, 4, value=1.0, step=0.25, label="Stroke size (×)")
            with gr.Column(scale=2):
                view = gr.HTML({"key": ""}, html_template=VIEW, css_template=CSS, js_on_load=SCRIPT,
                               elem_id="live-view")
        key = gr.State("")
        controls = [size, *mixer.inputs, strength, light, stroke]

        def remember(page: str, size_name: str, name: str, *values: float) -> None:
            *sliders, strength_value, lit, stroke_size = values
            live.remember(page, Settings(name, Mixer.weights(name, sliders), strength_value, stroke_size, size_name,
                                         lit))

        for control in controls:
            control.change(shown(remember), [key, *controls], None, queue=False, show_progress="hidden")

        def issue() -> tuple[dict, str]:
            page = live.issue()
            name = studio.default_family()
            live.remember(page, Settings(name, {family(name).painters[0]: 1.0}))  # as the controls start
            return {"key": page}, page

        studio.on_load.append((issue, [view, key]))
    return live
