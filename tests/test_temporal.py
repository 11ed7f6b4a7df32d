from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from nets.flow import dis_flow, flow_pair, read_flo
from nets.losses import temporal_loss
from nets.metrics import warping_error
from nets.warp import flow_to_tensor, in_frame, luminance, occlusion_mask, warp
from tests.clips import decoded_frames
from tests.conftest import shared
from train.pairs import ClipPairs, mixed_pairs, synthetic_pairs

# End-point error of DIS (MEDIUM) against Sintel ground truth on valid, non-occluded pixels, as measured
# (0.28, 1.11, 15.26, 22.45 px; mean motion 2.9, 15, 33, 62 px), with ~30% margin.
DIS_EPE_BOUND = {"alley_1": 0.4, "cave_2": 1.5, "market_5": 20.0, "temple_3": 30.0}


def rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def image(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32) / 255).permute(2, 0, 1)[None]


def sintel_pairs():
    for seq in sorted(p for p in shared("data", "video", "sintel").iterdir() if p.is_dir()):
        flo = sorted((seq / "gt").glob("*.flo"))[0]
        n = int(flo.stem.split("_")[1])
        excluded = (cv2.imread(str(seq / "gt" / "occlusions" / flo.with_suffix(".png").name), 0) > 127) | (
            cv2.imread(str(seq / "gt" / "invalid" / flo.with_suffix(".png").name), 0) > 127)
        yield seq.name, rgb(seq / f"frame_{n:04d}.png"), rgb(seq / f"frame_{n + 1:04d}.png"), read_flo(flo), ~excluded


def test_zero_flow_is_the_identity():
    x = torch.rand(2, 3, 17, 23)
    # Exact up to float rounding in grid_sample's coordinate normalisation.
    torch.testing.assert_close(warp(x, torch.zeros(2, 2, 17, 23)), x, rtol=0, atol=1e-5)
    assert in_frame(torch.zeros(1, 2, 5, 5)).min() == 1


def test_integer_translation_is_recovered_exactly_away_from_borders():
    x = torch.rand(1, 3, 30, 40)
    shifted = torch.roll(x, shifts=(2, -3), dims=(2, 3))  # shifted(y, x) = x(y - 2, x + 3)
    flow = torch.zeros(1, 2, 30, 40)
    flow[:, 0], flow[:, 1] = 3.0, -2.0  # shifted(p) = x(p + flow)
    back = warp(x, flow)
    torch.testing.assert_close(back[..., 2:-2, 3:-3], shifted[..., 2:-2, 3:-3], rtol=0, atol=1e-5)
    mask = in_frame(flow)
    assert mask[0, 0, :2].sum() == 0 and mask[0, 0, :, -3:].sum() == 0 and mask[0, 0, 2:, :-3].min() == 1


@pytest.mark.parametrize("name, first, second, gt, valid", list(sintel_pairs()))
def test_sintel_ground_truth_warping_and_dis_error(name, first, second, gt, valid):
    """Warping frame N+1 by the ground-truth flow explains frame N; DIS comes close to that flow."""
    valid_t = torch.from_numpy(valid)[None, None]
    before = (image(first) - image(second)).abs().mean(1, keepdim=True)[valid_t].mean()
    after = (image(first) - warp(image(second), flow_to_tensor(gt))).abs().mean(1, keepdim=True)[valid_t].mean()
    assert after < 0.6 * before, (name, before.item(), after.item())

    estimate = dis_flow(first, second)
    epe = np.linalg.norm(estimate - gt, axis=2)[valid].mean()
    print(f"{name}: L1 {before:.4f} -> {after:.4f} warped by GT; DIS end-point error {epe:.2f} px")
    bound = next(v for k, v in DIS_EPE_BOUND.items() if name.startswith(k))
    assert epe < bound


def test_occlusion_mask_finds_sintel_occlusions():
    """Forward-backward check (Ruder et al.) on DIS flow flags truly occluded pixels far more than others.

    Measured share flagged, occluded vs other pixels: alley_1 0.26/0.04, cave_2 0.61/0.07, market_5
    0.72/0.40, temple_3 0.89/0.32 (the last two move 33 and 62 px a frame, where DIS errs too).
    """
    name, first, second, gt, valid = next(p for p in sintel_pairs() if p[0].startswith("cave_2"))
    backward, forward = flow_pair(second, first)  # 'current' = frame N, 'previous' = frame N+1
    mask = occlusion_mask(flow_to_tensor(backward), flow_to_tensor(forward))[0, 0].numpy() > 0
    assert (~mask[~valid]).mean() > 4 * (~mask[valid]).mean()


def test_synthetic_pair_flow_is_exact():
    photo = image(rgb(shared("data", "video", "sintel", "alley_1_clean_0001-0004", "frame_0001.png")))
    crops = torch.cat([photo[..., :128, :128], photo[..., 100:228, 200:328]])
    generator = torch.Generator().manual_seed(3)
    current, previous, flow, mask = synthetic_pairs(crops, generator, photometric=False)
    assert current.shape == previous.shape == (2, 3, 128, 128) and flow.shape == (2, 2, 128, 128)
    assert flow.abs().amax((1, 2, 3)).min() > 2  # both really moved, each its own way
    assert (flow[0] - flow[1]).abs().mean() > 0.5
    inside = mask.bool().expand(-1, 3, -1, -1)
    assert inside.float().mean() > 0.7
    reproduced = warp(previous, flow)
    assert (reproduced - current).abs()[inside].mean() < 0.01  # only interpolation error
    assert (previous - current).abs()[inside].mean() > 0.03


def test_temporal_loss_ignores_lighting_changes_but_not_flicker():
    current, previous = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    flow, mask = torch.zeros(1, 2, 16, 16), torch.ones(1, 1, 16, 16)
    # An output whose brightness follows the input's (e.g. a light turning on) costs nothing...
    out_previous = 0.5 * previous + 0.2
    out_current = out_previous + luminance(current - previous)
    assert temporal_loss(out_current, out_previous, current, previous, flow, mask).item() == pytest.approx(0, abs=1e-6)
    # ...a uniform flicker costs its square, and so does a colour flicker that keeps the luminance.
    assert temporal_loss(current + 0.1, current, current, current, flow, mask).item() == pytest.approx(0.01, rel=1e-4)
    swing = torch.tensor([0.1, 0.0, -0.1 * 0.2126 / 0.0722]).view(1, 3, 1, 1)
    assert luminance(swing).abs().max() < 1e-6
    colour_flicker = temporal_loss(current + swing, current, current, current, flow, mask)
    assert colour_flicker.item() == pytest.approx(swing.pow(2).mean().item(), rel=1e-4)
    assert luminance(torch.ones(1, 3, 2, 2)).allclose(torch.ones(1, 1, 2, 2))


def test_warping_error_of_a_static_clip_is_zero_and_flicker_raises_it():
    frame = rgb(shared("data", "video", "sintel", "alley_1_clean_0001-0004", "frame_0001.png"))[:200, :300]
    static = [frame] * 4
    mean, per_pair = warping_error(static, static)
    assert mean < 1e-10 and len(per_pair) == 3  # zero up to float rounding
    flickering = [np.clip(frame.astype(int) + (20 if t % 2 else -20), 0, 255).astype(np.uint8) for t in range(4)]
    assert warping_error(static, flickering)[0] > 0.01


def test_real_clip_warping_error_floor_is_small():
    frames = decoded_frames(shared("data", "video", "realshort_320x240.mp4"))[:6]
    floor, _ = warping_error(frames, frames)
    shuffled, _ = warping_error(frames, frames[::-1])
    assert floor < 0.01 and shuffled > 3 * floor


def test_clip_pairs_are_cached_and_mixed_with_synthetic_ones(tmp_path, caplog):
    clip = shared("data", "video", "sintel", "alley_1_clean_0001-0004")
    first = ClipPairs(clip, 64, tmp_path)
    assert len(first) == 3
    generator = torch.Generator().manual_seed(0)
    real = first.to(torch.device("cpu")).sample(6, generator)
    current, previous, flow, mask = real
    assert current.shape == previous.shape == (6, 3, 64, 64) and flow.shape == (6, 2, 64, 64)
    assert mask.shape == (6, 1, 64, 64) and 0.5 < mask.mean() <= 1
    assert current.dtype == torch.float32 and 0 <= current.min() and current.max() <= 1
    synthetic = synthetic_pairs(torch.rand(6, 3, 64, 64), generator)
    mixed = mixed_pairs(synthetic, real, 0.5, generator)
    from_real = [bool(torch.equal(mixed[0][k], real[0][k])) for k in range(6)]
    assert all(from_real[k] or torch.equal(mixed[0][k], synthetic[0][k]) for k in range(6))
    for part in range(4):  # each slot takes all four tensors from the same source
        assert all(torch.equal(mixed[part][k], (real if from_real[k] else synthetic)[part][k]) for k in range(6))
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.npz")}
    second = ClipPairs(clip, 64, tmp_path)
    assert second.items == first.items
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.npz")} == stamps  # nothing recomputed
