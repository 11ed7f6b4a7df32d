"""Quality numbers for stylised clips and photos.

``warping_error`` is the flicker measure of Lai et al. (2018): how much each stylised frame differs
from the previous stylised frame warped into place, where the flow comes from the INPUT frames (so the
measure cannot be gamed by the output) and occluded pixels are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nets.images import to_tensor
from nets.warp import trusted_flow, warp


def warping_error(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> tuple[float, list[float]]:
    """(mean, per frame pair) of the masked mean squared RGB difference ‖O_t − W(O_t−1)‖², RGB in [0, 1].

    ``inputs`` and ``outputs`` are equally long lists of H×W×3 uint8 frames; passing the inputs as the
    outputs gives the clip's own floor (what flow and interpolation errors alone leave).
    """
    if len(inputs) != len(outputs) or len(inputs) < 2:
        raise ValueError("warping error needs two equally long clips of at least 2 frames")
    errors = []
    for t in range(1, len(inputs)):
        flow, mask = trusted_flow(inputs[t - 1], inputs[t])
        aligned = warp(to_tensor(outputs[t - 1]), flow)
        squared = (to_tensor(outputs[t]) - aligned).pow(2).mean(1, keepdim=True) * mask
        errors.append(float(squared.sum() / mask.sum().clamp(min=1.0)))
    return float(np.mean(errors)), errors
