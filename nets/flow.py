"""Optical flow for real clips: OpenCV's DIS (Kroeger et al. 2016), computed on the INPUT frames.

DIS is fast on the CPU and needs no learned weights. The preset was chosen on MPI-Sintel ground truth
(see ``tests/test_temporal.py``): MEDIUM has the lowest end-point error of the three presets at a cost
that is still small next to stylising the same frames.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
_FLO_MAGIC = 202021.25


def dis_flow(frame: np.ndarray, other: np.ndarray, preset: int = PRESET) -> np.ndarray:
    """H×W×2 float32 flow on ``frame``'s grid into ``other``: frame(x) ≈ other(x + f(x)). RGB uint8 in."""
    dis = cv2.DISOpticalFlow_create(preset)
    gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in (frame, other)]
    return dis.calc(gray[0], gray[1], None)


def flow_pair(previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(backward: current -> previous, forward: previous -> current), what warping and masks need."""
    return dis_flow(current, previous), dis_flow(previous, current)


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """A Middlebury .flo file (as MPI-Sintel ships ground truth) -> H×W×2 float32."""
    with open(path, "rb") as handle:
        magic = np.frombuffer(handle.read(4), np.float32)
        if magic.size != 1 or magic[0] != _FLO_MAGIC:
            raise ValueError(f"{path} is not a .flo file")
        width, height = np.frombuffer(handle.read(8), np.int32)
        return np.frombuffer(handle.read(), np.float32).reshape(height, width, 2).copy()
