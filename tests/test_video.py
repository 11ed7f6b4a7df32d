import logging
import os
import signal
import subprocess
import sys
import threading
import time

import av
import numpy as np
import pytest
from PIL import Image

from infer.stylizer import Stylizer
from infer.video import RenderOptions, default_batch, nvenc_opens, probe
from tests.clips import decoded_frames, make_clip, packets
from tests.conftest import ROOT, assert_one_line_error, run_cli, shared


@pytest.fixture(scope="module")
def stylizer(tiny_painter):
    return Stylizer(tiny_painter, engine="torch", device="cpu")


def photo_frames(val_dir, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """Frames of a slow pan over a real photo."""
    photo = Image.open(sorted(val_dir.iterdir())[0]).convert("RGB").resize((size[0] + count * 2, size[1]))
    return [np.asarray(photo.crop((2 * i, 0, 2 * i + size[0], size[1]))) for i in range(count)]


@pytest.mark.slow
def test_round_trip_keeps_frames_rate_size_and_duration(stylizer, tmp_path):
    src = shared("data", "video", "realshort_320x240.mp4")
    stats = stylizer.video(src, tmp_path / "out.mp4", RenderOptions(progress=False))
    before, after = probe(src), probe(tmp_path / "out.mp4")
    assert stats.frames == before.frames == after.frames == 36
    assert (after.width, after.height, after.fps) == (before.width, before.height, before.fps)
    assert after.duration == pytest.approx(before.duration, abs=1 / float(before.fps))
    first_in, first_out = decoded_frames(src)[0], decoded_frames(tmp_path / "out.mp4")[0]
    assert np.abs(first_in.astype(int) - first_out.astype(int)).mean() > 5  # it was stylised


def test_time_range_renders_just_that_range(stylizer, tmp_path):
    src = shared("data", "video", "big_buck_bunny_320x176.mp4")
    stats = stylizer.video(src, tmp_path / "part.mp4", RenderOptions(start=1.0, duration=1.0, progress=False))
    info = probe(tmp_path / "part.mp4")
    assert stats.frames == info.frames == 25 and info.fps == 25
    assert info.duration == pytest.approx(1.0, abs=0.05)
    assert stats.encoder == ("h264_nvenc" if nvenc_opens() is None else "libx264")  # auto: NVENC where it runs


def test_max_size_renders_a_smaller_preview_of_every_frame(tmp_path):
    src, dst = shared("data", "video", "realshort_320x240.mp4"), tmp_path / "preview.mp4"
    result = run_cli("infer", "video", str(src), "-m", "munch_the_scream", "-o", str(dst), "--max-size", "160")
    assert result.returncode == 0, result.stderr
    info = probe(dst)
    assert (info.width, info.height, info.frames) == (160, 120, probe(src).frames)


def test_default_batch_holds_at_most_four_1080p_frames_or_one_4k_frame():
    sizes = [(640, 360), (1920, 1080), (2560, 1440), (3840, 2160), (7680, 4320)]
    assert [default_batch(w, h) for w, h in sizes] == [4, 4, 2, 1, 1]


def test_an_odd_sized_clip_plays_everywhere_or_keeps_its_size_in_4_4_4(stylizer, tmp_path, val_dir, caplog):
    make_clip(tmp_path / "odd.mp4", photo_frames(val_dir, (65, 49), 6), fps=12)
    with caplog.at_level(logging.WARNING):
        stylizer.video(tmp_path / "odd.mp4", tmp_path / "out.mp4", RenderOptions(batch_size=4, progress=False))
    assert "65x49 is odd-sized: written as 66x50 (the last row or column repeated)" in caplog.text
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"  # what browsers and phones play
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.frames, info.fps) == (66, 50, 6, 12)
    frame = decoded_frames(tmp_path / "out.mp4")[0].astype(int)
    assert np.abs(frame[:, -1] - frame[:, -2]).mean() < 4 and np.abs(frame[-1] - frame[-2]).mean() < 4  # repeated
    stylizer.video(tmp_path / "odd.mp4", tmp_path / "full.mp4", RenderOptions(pixel_format="yuv444p", progress=False))
    info = probe(tmp_path / "full.mp4")
    assert (info.width, info.height, info.frames) == (65, 49, 6)


def test_audio_is_copied_without_re_encoding(stylizer, tmp_path, val_dir):
    make_clip(tmp_path / "tone.mp4", photo_frames(val_dir, (64, 48), 20), fps=10, audio_hz=440.0)
    stylizer.video(tmp_path / "tone.mp4", tmp_path / "out.mp4", RenderOptions(progress=False))
    assert probe(tmp_path / "out.mp4").audio == "aac"
    source_audio = packets(tmp_path / "tone.mp4", "audio")
    assert len(source_audio) > 10
    assert packets(tmp_path / "out.mp4", "audio") == source_audio  # byte for byte: copied, not re-encoded
    assert probe(tmp_path / "out.mp4").frames == 20


@pytest.mark.parametrize("case, expected", [
    ("missing_input", "no such file"),
    ("text_as_mp4", "not a readable video"),
    ("truncated", "realshort_cut.mp4"),
    ("zero_frames", "has no video"),  # an empty track: FFmpeg may drop the stream
    ("wrong_model", "not a painter checkpoint"),
    ("same_as_input", "inputs are never overwritten"),
    ("missing_folder", "output folder does not exist"),
    ("exists", "pass --overwrite"),
    ("bad_crf", "--crf is from 0 (lossless) to 51 (worst), not 99"),
    ("bad_preset", "invalid choice: 'fastest'"),
    ("no_batch", "--batch-size must be at least 1, not 0"),
    ("no_duration", "--duration must be more than 0 seconds, not 0"),
    ("webm_output", "cannot write out.webm: .webm is not supported for this output; name it with one of .mkv"),
    ("start_after_the_end", "no frames after 9 s (the clip lasts 1.20 s)"),
    ("late_keyframe", "a keyframe at 9 s is after the end of the clip rendered (1.20 s)"),
    ("keyframes_out_of_order", "keyframes go in time order: 0.5 s comes after 1 s"),
    ("blend_without_its_painter", "-m munch_the_scream is not in the blend (vangogh_starry_night, hokusai_great_wave)"),
    ("fp16_onnx_without_export", "--precision fp16 with the onnx engine needs an fp16 export"),
    pytest.param("no_nvenc", "NVENC cannot encode here", marks=pytest.mark.skipif(
        nvenc_opens() is None, reason="NVENC runs on this machine")),
])
def test_bad_input_is_one_line_and_exit_2(case, expected, tiny_painter, tmp_path):
    src = tmp_path / "clip.mp4"
    src.write_bytes(shared("data", "video", "realshort_320x240.mp4").read_bytes())
    dst, model = tmp_path / "out.mp4", str(tiny_painter)
    if case == "missing_input":
        src = tmp_path / "nope.mp4"
    elif case == "text_as_mp4":
        src = tmp_path / "text.mp4"
        src.write_text("this is not a video")
    elif case == "truncated":
        data = src.read_bytes()
        src = tmp_path / "realshort_cut.mp4"
        src.write_bytes(data[: len(data) // 2])
    elif case == "zero_frames":
        src = tmp_path / "empty.mp4"
        make_clip(src, [])
    elif case == "wrong_model":
        model = str(tmp_path / "model.pt")
        (tmp_path / "model.pt").write_text("not a model")
    elif case == "same_as_input":
        dst = src
    elif case == "missing_folder":
        dst = tmp_path / "missing" / "out.mp4"
    elif case == "exists":
        dst.write_bytes(b"keep me")
    elif case == "webm_output":
        dst = tmp_path / "out.webm"
    extra = {"start_after_the_end": ["--start", "9"], "bad_crf": ["--crf", "99"], "bad_preset": ["--preset", "fastest"],
             "no_nvenc": ["--encoder", "nvenc"], "no_batch": ["--batch-size", "0"], "no_duration": ["--duration", "0"],
             "late_keyframe": ["--keyframes", "0:vangogh_starry_night; 9:munch_the_scream"],
             "keyframes_out_of_order": ["--keyframes", "1:vangogh_starry_night; 0.5:munch_the_scream"]}.get(case, [])
    if case in ("late_keyframe", "keyframes_out_of_order"):
        model = "four_painters"
    if case == "blend_without_its_painter":
        model, extra = "munch_the_scream", ["--blend", "vangogh_starry_night=0.5,hokusai_great_wave=0.5"]
    engine = "torch"
    if case == "fp16_onnx_without_export":
        model, extra, engine = "four_painters", ["--precision", "fp16"], "onnx"
    before = src.read_bytes() if src.exists() else None
    result = run_cli("infer", "video", str(src), "-m", model, "-o", str(dst), "--engine", engine, *extra)
    assert_one_line_error(result, expected, tmp_path)
    if case == "exists":
        assert dst.read_bytes() == b"keep me"
    elif case != "same_as_input":
        assert not dst.exists()
    if before is not None:
        assert src.read_bytes() == before


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stop_request"])
def test_killed_render_leaves_nothing_at_the_output_path(tiny_painter, tmp_path, how):
    dst = tmp_path / "out.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "infer", "video", str(shared("data", "video", "cockatoo_1280x720.mp4")),
         "-m", str(tiny_painter), "-o", str(dst), "--engine", "torch", "--batch-size", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120

    while not any(".part" in p.name for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)  # until the render writes its temporary file: an event, not a fixed time (CI may be busy)
    assert proc.poll() is None, "the render ended before it could be interrupted"
    os.kill(proc.pid, how)
    _, stderr = proc.communicate(timeout=60)
    assert not dst.exists()
    if how == signal.SIGTERM:  # ended as by Ctrl-C, its temporary file deleted on the way out
        assert proc.returncode == 130 and not list(tmp_path.iterdir()), stderr[-2000:]


@pytest.mark.parametrize("starts_before", [0, 1])
def test_an_interrupt_while_the_render_starts_its_threads_ends_it_cleanly(stylizer, tmp_path, monkeypatch,
                                                                         starts_before):
    """Ctrl-C (or a stop request) can land between the reader's and the writer's start: the render must still
    end with the interrupt, not with an error of its own cleanup, and leave nothing behind."""
    real_start, started = threading.Thread.start, []

    def start(thread: threading.Thread) -> None:
        if len(started) == starts_before:
            raise KeyboardInterrupt
        started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(KeyboardInterrupt):
        stylizer.video(shared("data", "video", "realshort_320x240.mp4"), tmp_path / "out.mp4",
                       RenderOptions(progress=False))
    assert not list(tmp_path.iterdir())
