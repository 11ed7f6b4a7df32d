"""The stabiliser (infer.steady): steadier frames on clips whose motion is known exactly, no trails, resets
at cuts, on every path a clip is rendered by."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from infer.controls import StrokeSize
from infer.engines import PainterEngine, painter_engines
from infer.networks import TorchNetwork
from infer.resampling import blur_torch, remap, remap_torch, shift_frame, shift_torch
from infer.steady import (
    CHANGE_SIGMA,
    DEFAULT_STRENGTH,
    DETAIL_SIGMA,
    Stabilizer,
    SteadyError,
    measure_motion,
    stabilize_frames,
)
from infer.stylizer import Stylizer
from infer.tiles import Tiling
from infer.video import RenderOptions
from nets.metrics import exact_motion, sharpness, warping_error
from nets.transformer import SIZE_MULTIPLE
from scripts.helpers.known_motion import camera_move, moving_object, still_shot
from tests.clips import decoded_frames, make_clip
from tests.conftest import assert_one_line_error, run_cli, shared

W, H = 160, 96


def photo(k: int) -> np.ndarray:
    path = sorted(shared("data", "photos", "val").glob("*.jpg"))[k]
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def engine(tiny_painter) -> PainterEngine:
    return painter_engines(TorchNetwork(tiny_painter, torch.device("cpu")))[0]


def flicker(clip, frames) -> float:
    motions = [exact_motion(f, m) for f, m in zip(clip.flows, clip.masks, strict=True)]
    return warping_error(clip.frames, frames, motions)[0]


def test_strength_0_gives_exactly_the_plain_frames(engine):
    clip = camera_move(photo(0), "pan", 3, W, H)
    plain = [engine(f[None])[0] for f in clip.frames]
    assert all(np.array_equal(a, b) for a, b in zip(stabilize_frames(engine, clip.frames, 0.0), plain, strict=True))


@pytest.mark.parametrize("kind, strength, most", [("pan", DEFAULT_STRENGTH, 0.5), ("zoom", 1.0, 0.7)])
def test_a_known_camera_move_flickers_less_without_blur(engine, kind, strength, most):
    """Judged with the exact flow of the move, not the DIS flow the stabiliser uses. A pan is what the grid
    alignment undoes; a zoom is left to the blend."""
    clip = camera_move(photo(1), kind, 6, W, H)
    plain = [engine(f[None])[0] for f in clip.frames]
    steady = stabilize_frames(engine, clip.frames, strength)
    assert flicker(clip, steady) < most * flicker(clip, plain)
    assert sharpness(steady) > 0.8 * sharpness(plain)


def test_bigger_strokes_are_steadied_on_their_own_grid():
    """At stroke size 2 the strokes snap to an 8 px grid of the frame: following the scene modulo 4 px, the
    network's own grid, would redraw them every frame (a shipped painter: its strokes are what snaps)."""
    clip = camera_move(photo(1), "pan", 6, 2 * W, 2 * H)
    big = StrokeSize(Stylizer("munch_the_scream", "torch", "cpu", "fp32").engine, 2.0)
    assert big.grid == 2 * SIZE_MULTIPLE
    own = stabilize_frames(big, clip.frames, DEFAULT_STRENGTH)
    big.grid = SIZE_MULTIPLE
    wrong = stabilize_frames(big, clip.frames, DEFAULT_STRENGTH)
    assert flicker(clip, own) < 0.8 * flicker(clip, wrong)


def test_a_still_shot_flickers_less_and_does_not_drift(engine):
    clip = still_shot(photo(2), 24, W, H, noise=3.0)
    plain = [engine(f[None])[0] for f in clip.frames]
    steady = stabilize_frames(engine, clip.frames)
    assert flicker(clip, steady) < 0.8 * flicker(clip, plain)
    gaps = [np.abs(s.astype(np.float32) - p).mean() for s, p in zip(steady, plain, strict=True)]
    assert np.mean(gaps[-8:]) < np.mean(gaps[1:9]) + 0.5  # no growth: the blend averages, it does not wander
    assert sharpness(steady[-8:]) > 0.8 * sharpness(plain[-8:])


def test_uncovered_pixels_are_painted_at_once_without_a_trail(engine):
    clip = moving_object(photo(3), photo(4), 8, W, H, velocity=(4.0, 1.0))
    plain = [engine(f[None])[0].astype(np.float32) for f in clip.frames]
    steady = [f.astype(np.float32) for f in stabilize_frames(engine, clip.frames, 1.0)]
    for t in range(2, len(clip.frames)):
        uncovered = clip.uncovered[t - 1]
        trail = np.abs(steady[t] - plain[t]).mean(2)[uncovered].mean()
        old = np.abs(plain[t - 1] - plain[t]).mean(2)[uncovered].mean()  # what a full trail would show
        assert trail < 0.2 * old, (t, trail, old)


def test_a_cut_starts_afresh(engine):
    first, second = camera_move(photo(5), "pan", 4, W, H), camera_move(photo(6), "pan", 3, W, H)
    motion = measure_motion(first.frames[-1], second.frames[0])
    assert motion.cut and not measure_motion(first.frames[0], first.frames[1]).cut
    across = stabilize_frames(engine, first.frames + second.frames)
    fresh = stabilize_frames(engine, second.frames)
    assert np.array_equal(across[len(first.frames)], fresh[0])


def test_bad_strengths_are_refused(tiny_painter, tiny_family, tmp_path):
    with pytest.raises(SteadyError, match="--stabilize is from 0"):
        Stabilizer(1.5)
    src = tmp_path / "clip.mp4"
    make_clip(src, camera_move(photo(0), "pan", 3, W, H).frames)
    for extra, expected in [(["--stabilize", "2"], "--stabilize is from 0 (off) to 1 (strongest), not 2"),
                            (["--stabilize", "nan"], "--stabilize is from 0"),
                            (["--stabilize", "abc"], "invalid float value: 'abc'"),
                            (["-m", str(tiny_painter), str(tiny_family), "--stabilize", "0.5"], "not a mosaic")]:
        model = [] if "-m" in extra else ["-m", str(tiny_painter)]
        result = run_cli("infer", "video", str(src), *model, "-o", str(tmp_path / "out.mp4"), "--engine", "torch",
                         *extra)
        assert_one_line_error(result, expected, tmp_path)
        assert not (tmp_path / "out.mp4").exists()


def test_a_render_is_steadied_by_default_with_keyframes_and_tiles(tiny_family, tmp_path):
    """The whole path: motion measured by the reader, a keyframed family painted in tiles, steadied (on the host,
    and in torch as beside a GPU engine)."""
    clip = camera_move(photo(7), "pan", 8, W, H)
    src = tmp_path / "pan.mp4"
    make_clip(src, clip.frames, fps=4)
    stylizer = Stylizer(tiny_family, engine="torch", device="cpu", tiling=Tiling(tile=64))
    keyframes = "0:vangogh_starry_night; 2:munch_the_scream"
    stylizer.video(src, tmp_path / "steady.mp4", RenderOptions(crf=0, progress=False), keyframes)
    stylizer.video(src, tmp_path / "plain.mp4", RenderOptions(crf=0, progress=False), keyframes, stabilize=0)
    steady, plain = decoded_frames(tmp_path / "steady.mp4"), decoded_frames(tmp_path / "plain.mp4")
    assert len(steady) == len(plain) == len(clip.frames)
    assert flicker(clip, steady) < 0.7 * flicker(clip, plain)
    # the same as the stabiliser run on its own over the same keyframed, tiled engine, within encoder noise
    engine = stylizer.keyframed(keyframes)
    decoded, times = decoded_frames(src), np.arange(len(clip.frames)) / 4
    alone = stabilize_frames(engine, decoded, DEFAULT_STRENGTH, times)
    unencoded = engine(np.stack(decoded), times)
    noise = max(np.abs(a.astype(int) - b).mean() for a, b in zip(unencoded, plain, strict=True))
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(alone, steady, strict=True)) < noise + 0.5
    # with its arithmetic in torch (where a GPU engine has it run): the same render
    stylizer.video(src, tmp_path / "torch.mp4", RenderOptions(crf=0, progress=False, steady_device="cpu"), keyframes)
    beside = decoded_frames(tmp_path / "torch.mp4")
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(beside, steady, strict=True)) < 0.5


def test_torch_resampling_gives_opencvs_pixels():
    """The stabiliser's warps, shifts and blurs in torch (what it runs beside a GPU engine) against OpenCV's
    on the host, on a real photo: Lanczos and bicubic warps by a smooth flow of up to several px, fractional,
    whole and negative shifts, both blurs, colour and grey."""
    image = photo(3)[:96, :160].astype(np.float32)
    flow = 4 * cv2.GaussianBlur(np.random.default_rng(0).normal(0, 3, (96, 160, 2)).astype(np.float32), (0, 0), 5)
    assert np.abs(flow).max() > 1.5
    pixels, motion = torch.from_numpy(image), torch.from_numpy(flow)
    for sharp in (True, False):
        assert np.abs(remap(image, flow, sharp) - remap_torch(pixels, motion, sharp).numpy()).max() < 0.01
    for by in ((0.3, -1.7), (2.5, 3.2), (-3.9, 0.0), (1.0, -2.0)):
        assert np.abs(shift_frame(image, np.array(by)) - shift_torch(pixels, by).numpy()).max() < 0.01
    for sigma in (DETAIL_SIGMA, CHANGE_SIGMA):
        for plane in (image, image[..., 1].copy()):
            assert np.abs(cv2.GaussianBlur(plane, (0, 0), sigma) - blur_torch(torch.from_numpy(plane), sigma).numpy()
                          ).max() < 0.01


@pytest.mark.parametrize("kind", ["pan", "zoom"])
def test_the_stabiliser_in_torch_gives_the_hosts_frames(engine, kind):
    """Beside a GPU engine the stabiliser's arithmetic runs in torch on the device; here the same code on the
    CPU: every frame within 1 level of the OpenCV version's (issue 45's bar), the plain engine far from both."""
    clip = camera_move(photo(1), kind, 6, W, H)
    host = stabilize_frames(engine, clip.frames, 1.0)
    device = stabilize_frames(engine, clip.frames, 1.0, device=torch.device("cpu"))
    plain = [engine(f[None])[0] for f in clip.frames]
    for a, b in zip(host, device, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    assert max(np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(host[1:], plain[1:], strict=True)) > 1
