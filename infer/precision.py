"""How far a painter's uint8 output may be from PyTorch fp32's, and the check that keeps fp16 honest.

Half precision doubles GPU speed but can fail outright for some painters and back ends: an activation
above 65504 overflows, and ONNX Runtime's fp16 InstanceNormalization has been reported wrong on GPUs.
Such a failure is not small noise but a ruined picture, so fp16 is used for a frame size only after its
output on the first frames of that size agreed with fp32's; otherwise the rest runs in fp32. The export
check (``infer.export``) uses the same limits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

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
TOLERANCE = {"fp32": Difference(1, 0.1), "fp16": Difference(8, 0.5)}


def difference(got: np.ndarray, want: np.ndarray) -> Difference:
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    return Difference(int(diff.max()), float(diff.mean()))


class HalfCheck:
    """Decides, per frame size, whether a half-precision network's output may be used.

    The first call of each size also runs ``open_full()`` (the same painter in fp32, opened on first need)
    and compares: within ``TOLERANCE["fp16"]``, the fp16 output is returned and later frames of that size
    run in fp16 alone; otherwise a warning names the difference, the fp32 output is returned, and
    ``fallback`` (the fp32 network) runs every later frame. ``checked`` keeps each size's difference.
    """

    def __init__(self, open_full: Callable[[], Paint], label: str) -> None:
        self.open_full, self.label = open_full, label
        self.full: Paint | None = None
        self.fallback: Paint | None = None
        self.checked: dict[tuple[int, int], Difference] = {}

    def __call__(self, frames: np.ndarray, weights: np.ndarray, half: np.ndarray) -> np.ndarray:
        size = (frames.shape[1], frames.shape[2])
        if size in self.checked:
            return half
        self.full = self.full or self.open_full()
        want = self.full(frames, weights)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the fp32 pass's memory, not kept from the fp16 network
        self.checked[size] = diff = difference(half, want)
        if diff.within("fp16"):
            log.info("%s agrees with fp32 at %dx%d (%s)", self.label, size[1], size[0], diff)
            return half
        log.warning("%s differs from fp32 at %dx%d by %s (allowed %s): painting in fp32 instead", self.label,
                    size[1], size[0], diff, TOLERANCE["fp16"])
        self.fallback = self.full
        return want
