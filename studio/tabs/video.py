"""Video: a clip painted with one painter, a blend, or keyframed mixes, steadied, its progress streamed from
the render (frames/s, time left), cancellable, the result played with its audio and downloadable."""

from __future__ import annotations

import html
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from infer.controls import ControlError, parse_keyframes
from infer.steady import DEFAULT_STRENGTH
from infer.stylizer import Stylizer
from infer.video import RenderOptions, frame_size, rendered_seconds
from studio.context import Studio
from studio.jobs import JOBS, Worker, shown
from studio.library import blend_text, family
from studio.results import new_path
from studio.tabs.mixer import LIGHT_LABEL, Mixer
from studio.uploads import playable_note, read_clip, slider

MODES = ("One painter or a blend", "Keyframes")
#: Clips the command line paints that a browser's video picker leaves out (it offers only what it can play).
OTHER_CLIPS = [".ts", ".m2ts", ".mts", ".h264", ".264", ".h265", ".hevc", ".mkv", ".avi", ".mov", ".mpg", ".mpeg",
               ".flv", ".wmv", ".mp4", ".webm", ".m4v"]


def keyframe_text(rows: Any) -> str:
    """The table's rows (second, mix) as ``--keyframes`` takes them: ``0:a; 4:b=0.5,c=0.5``."""
    values = rows.values.tolist() if hasattr(rows, "values") else list(rows or [])
    kept = [(str(second).strip(), str(mix).strip()) for second, mix in values if str(mix).strip()]
    if not kept:
        raise ControlError("the keyframe table is empty: give each row a second and a mix")
    return "; ".join(f"{second}:{mix}" for second, mix in kept)


def progress_line(done: int, total: int, seconds: float) -> str:
    """A progress bar and its words: frames done, frames/s, time left."""
    speed = done / seconds if seconds > 0 else 0.0
    left = f" · {(total - done) / speed:.0f} s left" if speed > 0 else ""
    return (f'<progress value="{done}" max="{total}" style="width:100%"></progress><br>'
            f"frame {done} of {total} · {speed:.2f} frames/s{left}")


def build(studio: Studio) -> None:
    cfg = studio.cfg
    with gr.Tab("Video", id="video"):
        with gr.Row():
            with gr.Column(scale=1):
                clip = gr.Video(label="Clip", sources=["upload"], elem_id="video-input", height=240)
                other = gr.File(label="…or a clip your browser will not offer above (.ts, .h264, .mkv, …)",
                                file_types=OTHER_CLIPS, elem_id="video-file", height=120)
                with gr.Row():
                    start = gr.Number(0, label="Start (s)", minimum=0, elem_id="video-start")
                    length = gr.Number(0, label="Length (s; 0: to the end)", minimum=0, elem_id="video-length")
                mode = gr.Radio(list(MODES), value=MODES[0], label="Paint with")
                mixer = Mixer(studio)
                keyframes = gr.Dataframe(headers=["second", "mix"], datatype=["number", "str"],
                                         column_count=(2, "fixed"),
                                         value=[[0, "vangogh_starry_night"], [4, "munch_the_scream"],
                                                [8, "hokusai_great_wave=0.5,munch_the_scream=0.5"]],
                                         label="Keyframes: at each second, a painter or a mix (eased between)",
                                         interactive=True, visible=False)
                steady = slider(0, 1, value=DEFAULT_STRENGTH, step=0.05, label="Steady (0: off)")
                strength = slider(0, 1, value=1.0, step=0.05, label="Strength")
                colors = gr.Checkbox(label="Keep the clip's colours")
                light = slider(0, 1, value=0.0, step=0.1, label=LIGHT_LABEL)
                stroke = slider(0.5, 4, value=1.0, step=0.25, label="Stroke size (×)")
            with gr.Column(scale=2):
                with gr.Row():
                    render = gr.Button("Render", variant="primary", elem_id="video-render")
                    cancel = gr.Button("Cancel", variant="stop", elem_id="video-cancel")
                status = gr.HTML(elem_id="video-status")
                result = gr.Video(label="Result", interactive=False, elem_id="video-result", height=480)
                download = gr.File(label="Download", interactive=False, elem_id="video-download")
        inputs = [clip, other, start, length, mode, keyframes, *mixer.inputs, steady, strength, colors, light, stroke]

        @shown
        def render_clip(request: gr.Request, dropped: str | None, picked: str | None, start_s: float, length_s: float,
                        how: str, table: Any, name: str, *values: Any) -> Iterator[tuple[Any, Any, str]]:
            # Gradio fills in ``request`` by its annotation, at its place: first, as the sliders come last.
            *sliders, steady_s, strength_s, keep, lit, stroke_size = values
            path = picked or dropped  # at most one is set: choosing one clears the other
            source = read_clip(path, cfg.max_clip_side)
            seconds_in = None if not length_s else float(length_s)
            keyed = how == MODES[1]
            marks = parse_keyframes(keyframe_text(table)) if keyed else None
            width, height = frame_size(source.info, source.max_size)
            pixels = rendered_seconds(source.info, start_s or 0.0, seconds_in) * float(source.info.fps) * width * height
            blend = None if keyed else blend_text(Mixer.weights(name, sliders))
            stylizer = Stylizer(name, device=cfg.device, blend=blend, strength=strength_s, preserve_colors=keep,
                                stroke_size=stroke_size, workload=pixels / stroke_size**2, keep_light=lit)
            out = new_path(cfg.out, "videos", f"{Path(path).stem}-{stylizer.name}", ".mp4")
            cancelled = studio.cancels.start(request.session_hash)
            done: queue.Queue = queue.Queue()
            options = RenderOptions(start=start_s or 0.0, duration=seconds_in, max_size=source.max_size,
                                    progress=False, on_frames=lambda n, total: done.put((n, total)), cancel=cancelled)
            tick = time.perf_counter()
            worker = Worker(lambda: stylizer.video(source.path, out, options, marks, steady_s))
            note = f"⚠ {html.escape(source.note)}<br>" if source.note else ""
            yield None, None, f"{note}starting {stylizer.name} on {stylizer.engine.description}…"
            try:
                while worker.is_alive():
                    worker.join(0.5)
                    latest = None
                    while not done.empty():
                        latest = done.get()
                    if latest is not None:
                        yield gr.skip(), gr.skip(), note + progress_line(*latest, time.perf_counter() - tick)
            finally:
                studio.cancels.finish(request.session_hash, cancelled, worker, f"The render of {Path(path).name}")
            stats = worker.outcome()
            summary = (f"<b>{html.escape(stylizer.name)}</b>: {stats.frames} frames in {stats.seconds:.1f} s "
                       f"({stats.fps:.2f} frames/s) on {stylizer.engine.description}"
                       + (f", steadied at {steady_s:g}" if steady_s and (keyed or not stylizer.mosaic) else ""))
            yield str(out), str(out), note + summary

        def stop(request: gr.Request) -> str:
            if studio.cancels.cancel(request.session_hash):
                return "cancelled: the render stops and nothing of it is kept"
            return "cancelled before it started: nothing was rendered"

        def show_mode(how: str, name: str) -> list[dict[str, Any]]:
            """The keyframe table, or the mixer's sliders: keyframes say the mix themselves."""
            keyed = how == MODES[1]
            count = len(family(name).painters)
            return [gr.update(visible=keyed)] + [gr.update(visible=not keyed and k < count)
                                                 for k in range(len(mixer.sliders))]

        studio.on_load.append((lambda: (f"⚠ {html.escape(said)}" if (said := studio.cancels.left_behind()) else ""),
                               status))
        clip.change(shown(playable_note), clip, status, queue=False)
        other.change(shown(playable_note), other, status, queue=False)
        clip.upload(lambda: None, None, other, queue=False)
        other.upload(lambda: None, None, clip, queue=False)
        mode.change(show_mode, [mode, mixer.menu], [keyframes, *mixer.sliders], queue=False)
        job = render.click(render_clip, inputs, [result, download, status], concurrency_id=JOBS, concurrency_limit=1)
        cancel.click(stop, None, status, cancels=[job], queue=False)
