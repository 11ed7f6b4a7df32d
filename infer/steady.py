"""Steady video: a painted clip holds still where the scene does, at render time, on any engine.

The shipped painters flicker for two reasons, and each has its remedy (numbers in docs/QUALITY.md):

1. Strokes snap to the 4-px grid of the network's two stride-2 stages. Shift the input by 4 px and the
   painting moves with it; shift it by 1–3 px and every stroke is redrawn. So before painting, each frame
   is shifted by the scene's accumulated motion modulo 4 (the median of the trusted optical flow) and
   shifted back after: the scene meets the grid at the same phase in every frame and the strokes travel
   with it. Exact for pans, which is what a handheld camera mostly does.
2. What is left (zoom, rotation, parallax, things that move, the network's own noise) is evened out by
   blending each painted frame with the previous result warped into place by the flow of the INPUT
   frames, only where that flow is trusted (forward-backward check, brightness constancy). The previous
   result is first given whatever the input itself changed there (a fade, a change of exposure: the
   assumption of the temporal loss, ReCoNet), so a steady painting does not lag behind the light.
   Averaging strokes that do not line up blurs them, so the warp is Lanczos (bilinear blurs a little more
   every frame) and the blend's lost local contrast is given back, up to the painting's own.

New content (a disoccluded region, the frame after a cut) is the plain painting at once; a cut (little of
the frame trusted) resets the state. Strength 0 gives exactly the plain painter's frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from infer.controls import grid_of
from infer.engines import Engine
from infer.resampling import Resampler, remap, shift_frame
from nets.errors import UserError
from nets.flow import flow_pair
from nets.transformer import SIZE_MULTIPLE
from nets.warp import REC709, flow_to_tensor, occlusion_mask

#: The stabiliser's strength when none is given: the setting judged in docs/QUALITY.md.
DEFAULT_STRENGTH = 0.75
#: How much of the previous result a trusted pixel keeps at strength 1.
MAX_BLEND = 0.8
#: Flow is computed with the longest side scaled to this (then scaled up): the painting, not the flow,
#: decides the cost, and flow at this size steadies as well as at full size (docs/QUALITY.md).
FLOW_SIDE = 512
#: A frame whose flow is trusted on less than this share of its pixels follows a cut: start afresh.
CUT_TRUST = 0.3
#: Brightness (0–1) by which the previous input warped by the flow may differ from the current one where
#: the flow is trusted: more means the flow is wrong there (or the light changed).
BRIGHTNESS_TOLERANCE = 0.08
#: Detail below this scale (Gaussian sigma, px) is the texture of strokes; the blend may at most multiply
#: what is left of it by MAX_GAIN to give back the painting's own local contrast.
DETAIL_SIGMA = 1.5
MAX_GAIN = 2.0
#: Flow this small (px) is noise, not motion: a still scene is copied exactly, not resampled (which would
#: blur it a little more every frame) and its grid phase does not wander.
STILL = 0.1
#: The input's own change between frames is carried over smoothed by this sigma (px): its light, not its noise.
CHANGE_SIGMA = 2.0


class SteadyError(UserError):
    """A stabiliser setting that cannot work, said in one line."""


def check_strength(strength: float) -> float:
    if not 0.0 <= strength <= 1.0:  # also refuses NaN
        raise SteadyError(f"--stabilize is from 0 (off) to 1 (strongest), not {strength:g}")
    return float(strength)


@dataclass
class Motion:
    """How a frame moved from the one before it, measured on the input frames."""

    flow: np.ndarray  # H×W×2 float32, current -> previous: current(x) ≈ previous(x + flow(x))
    trust: np.ndarray  # H×W float32 in [0, 1]: where that flow can be trusted
    drift: np.ndarray  # (dx, dy): how far the scene moved, pixels (minus the median trusted flow)
    cut: bool  # too little of the frame is trusted: a new shot


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if width < image.shape[1]
                      else cv2.INTER_LINEAR)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array(REC709, np.float32) / 255


def measure_motion(previous: np.ndarray, current: np.ndarray, side: int = FLOW_SIDE) -> Motion:
    """The motion from ``previous`` to ``current`` (H×W×3 uint8), flow computed at ``side`` px at most."""
    h, w = current.shape[:2]
    scale = min(1.0, side / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = [_resize(f, sw, sh) if scale < 1 else f for f in (previous, current)]
    backward, forward = flow_pair(*small)
    consistent = occlusion_mask(flow_to_tensor(backward), flow_to_tensor(forward))[0, 0].numpy()
    lined_up = np.abs(_luma(remap(small[0], backward, sharp=False)) - _luma(small[1])) < BRIGHTNESS_TOLERANCE
    # one pixel less on every side of what is trusted: flow is least sure next to what it cannot follow
    trust = cv2.erode((consistent * lined_up).astype(np.float32), np.ones((3, 3), np.uint8))
    cut = float(trust.mean()) < CUT_TRUST
    drift = np.zeros(2) if cut else -np.median(backward[trust > 0], axis=0).astype(np.float64) * (w / sw, h / sh)
    if np.hypot(*drift) < STILL / 2:
        drift[:] = 0.0
    if scale < 1:
        backward = _resize(backward, w, h) * np.array([w / sw, h / sh], np.float32)
        trust = _resize(trust, w, h)
    magnitude = np.hypot(backward[..., 0], backward[..., 1])[..., None]
    backward = backward * np.clip(magnitude / STILL - 1, 0, 1)  # 0 below STILL, unchanged from twice that
    return Motion(backward, trust, drift, cut)


class MotionTracker:
    """Motion of each frame of a clip from the one before (``None`` for the first): what the reader side
    of the pipeline computes while the engine paints, so flow costs no painting time on a GPU."""

    def __init__(self, side: int = FLOW_SIDE) -> None:
        self.side = side
        self.previous: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> Motion | None:
        motion = None if self.previous is None else measure_motion(self.previous, frame, self.side)
        self.previous = frame
        return motion


def restore_detail(mixed: torch.Tensor, painting: torch.Tensor, weight: torch.Tensor, ops: Resampler
                   ) -> torch.Tensor:
    """``mixed`` with its stroke-scale detail scaled back up towards the local contrast of ``painting``.

    Averaging two paintings whose strokes do not quite line up cancels part of their detail; here the
    detail that survived is amplified (by at most MAX_GAIN, never reduced) until its local energy matches
    the plain painting's. ``weight`` (the share of the previous result, per pixel) scales the correction,
    so a pixel that took nothing from the past is left exactly as painted.
    """
    def low(x: torch.Tensor) -> torch.Tensor:
        return ops.blur(x, DETAIL_SIGMA)

    detail = mixed - low(mixed)
    # the energy of detail is measured on brightness: one channel, not three
    luma = torch.tensor(REC709, dtype=torch.float32, device=mixed.device)
    wanted = low(torch.square(painting @ luma - low(painting @ luma)))
    have = low(torch.square(detail @ luma))
    gain = torch.clamp(torch.sqrt((wanted + 1.0) / (have + 1.0)), 1.0, MAX_GAIN)[..., None]
    return mixed + (gain - 1.0) * torch.clamp(weight / MAX_BLEND, max=1.0) * detail


class Stabilizer:
    """Paints a clip's frames in order through an engine, steadied by their motion (see the module doc).

    ``strength`` 0 is the plain engine; 1 keeps MAX_BLEND of the previous result where the flow is
    trusted. ``offset``: the scene's accumulated motion before the first frame given (a segment of a
    longer render starts where a single render would stand; see ``infer.ray_render.steady_phases``).
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH, offset: Sequence[float] = (0.0, 0.0),
                 device: torch.device | None = None) -> None:
        self.strength = check_strength(strength)
        self.blend = MAX_BLEND * self.strength
        self.offset = np.array(offset, dtype=np.float64)
        self.ops = Resampler(device)
        self.previous: torch.Tensor | None = None  # the last result, float32, unrounded
        self.previous_input: torch.Tensor | None = None  # the frame it was painted from

    def advance(self, motion: Motion | None, grid: float = SIZE_MULTIPLE) -> np.ndarray:
        """Follow the scene by one frame; the grid phase (x, y in [0, grid)) its painting is made at."""
        if motion is not None:
            self.offset = np.zeros(2) if motion.cut else self.offset + motion.drift
        return np.mod(self.offset, grid)

    def __call__(self, engine: Engine, frames: np.ndarray, times: np.ndarray | None,
                 motions: Sequence[Motion | None]) -> np.ndarray:
        """uint8 N×H×W×3 frames (the next ones of the clip) and their motions in, steady frames out."""
        if self.strength == 0:
            return engine(frames, times)
        phases = [self.advance(motion, grid_of(engine)) for motion in motions]
        # Shifted within the frame, the edge it uncovers reflected: padding the frame instead would change how
        # the painter paints near every edge, which cost 2-4% of style distance (docs/QUALITY.md).
        ops = self.ops
        aligned = np.stack([shift_frame(frame, -phase) for frame, phase in zip(frames, phases, strict=True)])
        painted = engine(aligned, times)
        out = []
        for frame, image, phase, motion in zip(frames, painted, phases, motions, strict=True):
            result, frame = ops.shift(ops.tensor(image), phase), ops.tensor(frame)
            if motion is not None and not motion.cut and self.previous is not None:
                flow = ops.tensor(motion.flow)
                weight = self.blend * ops.tensor(motion.trust)[..., None]
                change = ops.blur(frame - ops.remap(self.previous_input, flow, sharp=False), CHANGE_SIGMA)
                mixed = result + weight * (ops.remap(self.previous, flow) + change - result)
                result = restore_detail(mixed, result, weight, ops)
            self.previous, self.previous_input = result, frame
            out.append(torch.round(result.clamp(0, 255)).to(torch.uint8).cpu().numpy())
        return np.stack(out)


def stabilize_frames(engine: Engine, frames: Sequence[np.ndarray], strength: float = DEFAULT_STRENGTH,
                     times: np.ndarray | None = None, flow_side: int = FLOW_SIDE, device: torch.device | None = None
                     ) -> list[np.ndarray]:
    """A list of consecutive frames painted and steadied one by one (what ``compare`` and the benchmarks
    use; a render does the same in its pipeline). Strength 0 measures no motion; ``device``: where the
    stabiliser's arithmetic runs (None: the host, with OpenCV)."""
    tracker, stabilizer = MotionTracker(flow_side), Stabilizer(strength, device=device)
    return [stabilizer(engine, frame[None], None if times is None else times[k:k + 1],
                       [tracker(frame) if strength else None])[0] for k, frame in enumerate(frames)]
