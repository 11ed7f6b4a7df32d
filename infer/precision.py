"""How far a painter's uint8 output may be from PyTorch fp32's, and the check that keeps lower precisions
honest.

Half precision doubles GPU speed and bfloat16 more than doubles CPU speed, but either can fail outright for
some painters and back ends: an fp16 activation above 65504 overflows, and ONNX Runtime's fp16
InstanceNormalization has been reported wrong on GPUs. Such a failure is not small noise but a ruined
picture, so a lower precision is used for a frame size only after its output agreed with fp32's on the
first frames of that size; otherwise the rest runs in fp32. The export check (``infer.export``) uses the
same limits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from nets.transformer import MIN_SIDE

log = logging.getLogger(__name__)

#: Frames (uint8 N×H×W×3) and painter weights (N×P) in, frames out: a network's whole-frame call.
Paint = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Difference:
    """Of one output to the fp32 one, in uint8 levels."""

    max: int
    mean: float

    def within(self, precision: str) -> bool:
        limit = TOLERANCE[precision]
        return self.max <= limit.max and self.mean <= limit.mean

    def __str__(self) -> str:
        return f"max {self.max}, mean {self.mean:.3f} levels"


#: uint8 levels an output may differ from PyTorch fp32 by. fp32: only values within float error of a .5
#: rounding boundary flip, by one level. fp16 (~3 significant digits through 16 layers): measured max 1,
#: mean 0.04 on ONNX Runtime's CPU provider; the margin is for GPU kernels, which round differently.
#: bf16 (8 significant bits): measured max 3-10, mean 0.13-0.38 on both shipped families at 360p and 720p
#: (scripts/bench/cpu_paths.py); a broken kernel or layout gives tens of levels.
TOLERANCE = {"fp32": Difference(1, 0.1), "fp16": Difference(8, 0.5), "bf16": Difference(16, 1.0)}
#: Longest side of the probe an eager network is checked on. Its errors (rounding, or a broken kernel) show
#: on a small copy of the frame as well as on the frame, and checking the frame itself would cost more fp32
#: time than bf16 saves on a photo.
PROBE_SIDE = 256


def difference(got: np.ndarray, want: np.ndarray) -> Difference:
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    return Difference(int(diff.max()), float(diff.mean()))


def probe(frames: np.ndarray) -> np.ndarray:
    """The first frame, scaled down to at most ``PROBE_SIDE`` px a side (1×h×w×3)."""
    h, w = frames.shape[1:3]
    scale = min(1.0, PROBE_SIDE / max(h, w))
    size = (max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale)))
    return cv2.resize(frames[0], size, interpolation=cv2.INTER_AREA)[None]


class PrecisionCheck:
    """Decides, per frame size, whether a lower-precision network's output may be used.

    The first call of each size also runs ``open_full()`` (the same painter in fp32, opened on first need)
    and compares, on the first frame or (``on_probe``: for networks that run any size at no extra cost) on a
    small ``probe`` of it. Within ``TOLERANCE[precision]``, the low-precision output is returned and later
    frames of that size run in it alone; otherwise a warning names the difference, and ``fallback`` (the
    fp32 network) paints these frames and every later one. ``checked`` keeps each size's difference.
    """

    def __init__(self, open_full: Callable[[], Paint], label: str, precision: str, on_probe: bool = False) -> None:
        self.open_full, self.label, self.precision, self.on_probe = open_full, label, precision, on_probe
        self.full: Paint | None = None
        self.fallback: Paint | None = None
        self.checked: dict[tuple[int, int], Difference] = {}

    def __call__(self, frames: np.ndarray, weights: np.ndarray, paint: Paint) -> np.ndarray:
        """``paint``'s frames where it passed the check for their size, else fp32's."""
        if self.fallback is not None:
            return self.fallback(frames, weights)
        size = (frames.shape[1], frames.shape[2])
        if size in self.checked:
            return paint(frames, weights)
        self.full = self.full or self.open_full()
        if self.on_probe:
            sample, out = probe(frames), None
            low = paint(sample, weights[:1])
        else:
            sample, out = frames[:1], paint(frames, weights)
            low = out[:1]
        want = self.full(sample, weights[:1])
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the fp32 pass's memory, not kept from the low-precision network
        self.checked[size] = diff = difference(low, want)
        where = f"{size[1]}x{size[0]}" + (f" (on a {sample.shape[2]}x{sample.shape[1]} copy)" if self.on_probe else "")
        if diff.within(self.precision):
            log.info("%s agrees with fp32 at %s (%s)", self.label, where, diff)
            return paint(frames, weights) if out is None else out
        log.warning("%s differs from fp32 at %s by %s (allowed %s): painting in fp32 instead", self.label, where,
                    diff, TOLERANCE[self.precision])
        self.fallback = self.full
        return self.fallback(frames, weights)
