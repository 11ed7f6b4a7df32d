"""Rendering with Ray: segments painted in parallel and joined give what a single render gives."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest
from PIL import Image

from infer.ray_render import Painting, plan_render, render_segment
from infer.video import RenderOptions, join_segments
from tests.clips import decoded_frames, make_clip, packets
from tests.conftest import ROOT, run_cli, shared

FPS = 10


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> object:
    """4 s of a camera pan over a photo at 10 frames/s, a keyframe every second, with a sound track. 3 px a
    frame: the stabiliser's grid phase changes every frame, so a segment must start at the right one."""
    photo = np.asarray(Image.open(shared("data", "photos", "val", "bsds300_img_001.jpg")).convert("RGB"))
    frames = [np.ascontiguousarray(photo[40:40 + 144, 3 * k:3 * k + 192]) for k in range(4 * FPS)]
    path = tmp_path_factory.mktemp("pan") / "pan.mp4"
    make_clip(path, frames, fps=FPS, audio_hz=440.0, keyframe_every=FPS)
    return path


def frame_times(path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


@pytest.mark.slow
def test_segments_on_two_ray_workers_one_killed_join_into_the_single_render(pan, tiny_painter, tmp_path):
    args = ["infer", "video", str(pan), "-m", str(tiny_painter), "--engine", "torch", "--device", "cpu", "--crf", "0"]
    single = run_cli(*args, "-o", str(tmp_path / "single.mp4"))
    assert single.returncode == 0, single.stderr
    out = tmp_path / "ray.mp4"
    render = subprocess.Popen([sys.executable, "-m", *args, "-o", str(out), "--ray", "--ray-workers", "2"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    segments, killed = tmp_path / ".ray.mp4.segments", None
    deadline = time.monotonic() + 240
    while killed is None and render.poll() is None and time.monotonic() < deadline:
        writing = list(segments.glob(".segment_*.part.mp4")) if segments.is_dir() else []
        if writing:  # a worker is painting a segment: its pid is in the temporary file's name
            killed = int(writing[0].name.split(".")[2].split("-")[0])
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    stdout, stderr = render.communicate(timeout=300)
    assert killed is not None, "no segment was seen being painted"
    assert render.returncode == 0, stderr  # Ray painted the killed worker's segment again
    assert "40 frames" in stdout
    assert frame_times(out) == frame_times(tmp_path / "single.mp4")  # frame count and timestamps
    assert packets(out, "audio") == packets(pan, "audio")  # copied once, untouched
    differences = [np.abs(a.astype(int) - b.astype(int)).mean()
                   for a, b in zip(decoded_frames(out), decoded_frames(tmp_path / "single.mp4"), strict=True)]
    # Lossless (x264 at crf 0), so what is left is the painting: each segment steadied as the single render
    # steadies those frames (painted a few frames early, at the same grid phase)
    assert max(differences) < 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ray.mp4", "single.mp4"]  # no segments left behind


def test_without_ray_installed_the_message_says_how_to_get_it(pan, tiny_painter, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "ray.py").write_text("raise ImportError('no ray here')\n")  # shadows the installed package
    result = subprocess.run([sys.executable, "-m", "infer", "video", str(pan), "-m", str(tiny_painter), "--engine",
                             "torch", "-o", str(tmp_path / "out.mp4"), "--ray"], cwd=ROOT, capture_output=True,
                            text=True, env=os.environ | {"PYTHONPATH": str(blocked)}, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m infer: error: Ray is not installed: pip install -r requirements-ray.txt"]
    assert not (tmp_path / "out.mp4").exists()


def test_a_rerun_paints_only_the_missing_segments_and_other_settings_start_over(pan, tiny_painter, tmp_path):
    dst = tmp_path / "out.mp4"
    painting = Painting([str(tiny_painter)], "torch", "cpu")
    options = RenderOptions(progress=False)
    plan = plan_render(pan, dst, painting, options, pieces=4)
    assert [start for start, _ in plan.segments] == [0.0, 1.0, 2.0, 3.0]  # at the keyframes
    assert plan.segments[-1][1] is None and plan.todo() == [0, 1, 2, 3]
    for k in plan.todo():
        assert render_segment(str(pan), str(plan.files[k]), painting, plan.segment_options(k)) == FPS
    plan.files[2].unlink()  # as if the render had stopped before this segment
    again = plan_render(pan, dst, painting, options, pieces=4)
    assert again.todo() == [2]
    render_segment(str(pan), str(again.files[2]), painting, again.segment_options(2))
    assert join_segments(pan, [(f, s) for f, (s, _) in zip(again.files, again.segments, strict=True)], dst,
                         options) == 4 * FPS
    assert frame_times(dst) == [k / FPS for k in range(4 * FPS)]
    other = plan_render(pan, dst, dataclasses.replace(painting, settings={"strength": 0.5}), options, pieces=4)
    assert other.todo() == [0, 1, 2, 3]  # painted with other settings: nothing is reused
