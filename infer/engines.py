"""Engines: run a painter on batches of uint8 N×H×W×3 RGB frames, one interface for all back ends.

A painter file (one painter or a family) runs on a ``Network`` (``infer.networks``: ONNX Runtime or PyTorch),
which takes per-frame painter weights; ``infer.plan`` decides which one opens a painter, and says why.
An ``Engine`` is what commands use: frames in, frames out. ``PainterEngine`` is one painter (or a fixed
blend) of a network, ``infer.mosaic.MosaicEngine`` several side by side; ``infer.stylizer.Stylizer`` opens
them from painter names. ``description`` says which provider really runs.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from nets.errors import UserError

ENGINES = ("auto", "onnx", "torch", "compiled", "prebuilt")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


class EngineError(UserError):
    """A painter cannot be run as asked (missing file, no GPU, unknown option)."""


class Engine(Protocol):
    name: str  # the painter's name
    description: str  # what runs, e.g. "onnxruntime CUDAExecutionProvider fp16"

    def __call__(self, frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        """uint8 N×H×W×3 RGB in, uint8 N×H×W×3 RGB out; ``times``: each frame's second in the output clip,
        for engines that change along a clip (keyframes)."""
        ...


def check_frames(frames: np.ndarray) -> np.ndarray:
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise EngineError(f"expected uint8 N×H×W×3 RGB frames, got {frames.dtype} {frames.shape}")
    return np.require(frames, requirements=["C_CONTIGUOUS", "WRITEABLE"])  # torch wants writeable memory


class Network(Protocol):
    """A painter file on a back end: every painter it holds, chosen or blended per frame by weights."""

    painters: list[dict]  # one record per painter: name, style image and size, metrics
    description: str
    cuda_device: torch.device | None  # the GPU it paints on, if any (the stabiliser runs beside it)

    def __call__(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """uint8 N×H×W×3 frames and float N×P painter weights (rows summing to 1) in, uint8 frames out."""
        ...


class PainterEngine:
    """One painter of a network (a one-hot weight row), or a fixed blend of its painters."""

    def __init__(self, network: Network, weights: np.ndarray, name: str) -> None:
        self.network = network
        self.weights = np.asarray(weights, dtype=np.float32)
        self.name = name
        chosen = int(np.argmax(self.weights))
        self.record: dict = network.painters[chosen]  # the painter's style image and settings (the largest share)

    @property
    def description(self) -> str:
        """What runs, read when asked: a lower precision that failed its check says so after the first frame."""
        return self.network.description

    def __call__(self, frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        return self.network(frames, np.broadcast_to(self.weights, (len(frames), len(self.weights))))


def painter_engines(network: Network, painter: str | None = None) -> list[PainterEngine]:
    """One engine per painter of ``network``, or the one named ``painter``."""
    names = [p["name"] for p in network.painters]
    chosen = names if painter is None else [painter]
    return [PainterEngine(network, np.eye(len(names), dtype=np.float32)[names.index(n)], n) for n in chosen]
