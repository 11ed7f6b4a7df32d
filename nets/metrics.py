"""Quality numbers for stylised clips and photos.

``warping_error`` is the flicker measure of Lai et al. (2018): how much each stylised frame differs
from the previous stylised frame warped into place, where the flow comes from the INPUT frames (so the
measure cannot be gamed by the output) and occluded pixels are left out. A clip made with known motion
passes its exact flow and masks instead, so a stabiliser that uses DIS flow is not judged by DIS alone.
``sharpness`` (variance of the Laplacian) tells steadiness bought by blurring from the real thing.
``repaint`` measures the painter alone: how much its painting changes when its input moves a little,
which no stabiliser can fully hide (the cause of flicker, where the warping error is the symptom).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch

from nets.images import to_tensor
from nets.warp import flow_to_tensor, trusted_flow, warp

#: A frame pair's motion: (1×2×H×W flow current -> previous, 1×1×H×W mask of the pixels that count).
PairMotion = tuple[torch.Tensor, torch.Tensor]


def warping_error(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray],
                  motions: Sequence[PairMotion] | None = None) -> tuple[float, list[float]]:
    """(mean, per frame pair) of the masked mean squared RGB difference ‖O_t − W(O_t−1)‖², RGB in [0, 1].

    ``inputs`` and ``outputs`` are equally long lists of H×W×3 uint8 frames; passing the inputs as the
    outputs gives the clip's own floor (what flow and interpolation errors alone leave). ``motions``: the
    exact motion of each pair (t-1, t), where known; else DIS flow on the inputs with its trust mask.
    """
    if len(inputs) != len(outputs) or len(inputs) < 2:
        raise ValueError("warping error needs two equally long clips of at least 2 frames")
    errors = []
    for t in range(1, len(inputs)):
        flow, mask = trusted_flow(inputs[t - 1], inputs[t]) if motions is None else motions[t - 1]
        aligned = warp(to_tensor(outputs[t - 1]), flow)
        squared = (to_tensor(outputs[t]) - aligned).pow(2).mean(1, keepdim=True) * mask
        errors.append(float(squared.sum() / mask.sum().clamp(min=1.0)))
    return float(np.mean(errors)), errors


def exact_motion(flow: np.ndarray, mask: np.ndarray) -> PairMotion:
    """A known H×W×2 flow and H×W mask (1: counts) as ``warping_error`` takes them."""
    return flow_to_tensor(flow), torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None]


def sharpness(frames: Sequence[np.ndarray]) -> float:
    """Mean variance of the Laplacian of the frames' gray levels: falls when strokes are blurred."""
    return float(np.mean([cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in frames]))


def moved(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image``'s content moved by (dx, dy) px: Lanczos, so a whole-pixel move is an exact copy away from the
    edges (the rows and columns moved in are reflected)."""
    h, w = image.shape[:2]
    return cv2.warpAffine(image, np.float64([[1, 0, dx], [0, 1, dy]]), (w, h), flags=cv2.INTER_LANCZOS4,
                          borderMode=cv2.BORDER_REFLECT_101)


def repaint(paint: Callable[[np.ndarray], np.ndarray], image: np.ndarray, dx: float, dy: float,
            margin: int = 16) -> float:
    """Mean level difference between the painting of ``image`` and that of ``image`` moved by (dx, dy), moved
    back; the ``margin`` (and the move) trimmed at the edges, where the two inputs truly differ.

    A painter that moves its strokes with the image gives 0 for whole-pixel moves (what a camera's pan is).
    ``paint``: H×W×3 uint8 -> H×W×3 uint8.
    """
    plain = paint(image)
    back = moved(paint(moved(image, dx, dy)), -dx, -dy)
    m = margin + math.ceil(max(abs(dx), abs(dy)))
    inner = (slice(m, -m), slice(m, -m))
    return float(np.abs(plain[inner].astype(np.float32) - back[inner].astype(np.float32)).mean())


def change(before: np.ndarray, after: np.ndarray, margin: int = 16) -> float:
    """Mean level difference of two equally sized frames without a ``margin`` px band at the edges."""
    inner = (slice(margin, -margin or None), slice(margin, -margin or None))
    return float(np.abs(before[inner].astype(np.float32) - after[inner].astype(np.float32)).mean())
