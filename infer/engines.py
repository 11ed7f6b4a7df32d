"""Engines: run a painter on batches of uint8 N×H×W×3 RGB frames, one interface for all back ends.

- ``OnnxEngine``: ONNX Runtime with the CUDA execution provider (frames bound on the GPU with I/O
  binding) when a GPU is there, the CPU provider otherwise. Runs the exported ``.onnx`` file.
- ``TorchEngine``: PyTorch eager on the painter's ``.pt``; fp16 on CUDA.

``open_engine`` picks one from a painter name or path; ``description`` says which provider really runs.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import onnxruntime as ort
import torch

from nets.device import pick_device
from nets.painter import PainterFileError, load_painter
from nets.transformer import MIN_SIDE, FrameTransformer

log = logging.getLogger(__name__)
#: Where painter names are looked up: the shipped ``checkpoints/`` folder of this project.
CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
ENGINES = ("auto", "onnx", "torch")
PRECISIONS = ("auto", "fp32", "fp16")


class EngineError(ValueError):
    """A painter cannot be run as asked (missing file, no GPU, unknown option)."""


class Engine(Protocol):
    name: str  # the painter's name
    description: str  # what runs, e.g. "onnxruntime CUDAExecutionProvider fp16"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """uint8 N×H×W×3 RGB in, uint8 N×H×W×3 RGB out."""
        ...


def check_frames(frames: np.ndarray) -> np.ndarray:
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise EngineError(f"expected uint8 N×H×W×3 RGB frames, got {frames.dtype} {frames.shape}")
    return np.require(frames, requirements=["C_CONTIGUOUS", "WRITEABLE"])  # torch wants writeable memory


class TorchEngine:
    def __init__(self, path: Path, device: torch.device, half: bool) -> None:
        model, payload = load_painter(path)
        self.name: str = payload["name"]
        self.config: dict = payload["config"]  # the painter's TrainConfig
        self.device = device
        # Contiguous (NCHW), not channels_last: on an H100 channels_last made fp16 eager 26% slower for this
        # network (instance norm and reflection padding copy between layouts; docs/PERFORMANCE.md).
        self.module = FrameTransformer(model.half() if half else model).to(device).eval()
        self.description = f"torch {device.type} {'fp16' if half else 'fp32'}"

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(check_frames(frames)).to(self.device, non_blocking=True)
        try:
            return self.module(x).cpu().numpy()
        except ValueError as exc:  # too small for the network
            raise EngineError(str(exc)) from None


class OnnxEngine:
    def __init__(self, path: Path, device: torch.device) -> None:
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the CPU fallback warning is reported by us, once, below
        providers: list = ["CPUExecutionProvider"]
        if device.type == "cuda":
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
            if hasattr(ort, "preload_dlls"):  # onnxruntime-gpu >= 1.21: CUDA/cuDNN from the nvidia-* wheels
                ort.preload_dlls()
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:
            raise PainterFileError(f"{path} is not a painter ONNX file ({str(exc).splitlines()[0][:200]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "painter" not in meta:
            raise PainterFileError(f"{path} is an ONNX file but not an exported painter (no painter metadata)")
        self.name = meta["painter"]
        self.config: dict = json.loads(meta.get("train_config", "{}"))
        self.provider = self.session.get_providers()[0]
        self.on_gpu = self.provider == "CUDAExecutionProvider"
        if device.type == "cuda" and not self.on_gpu:
            log.warning("onnxruntime could not use CUDA here; running on the CPU")
        self.device_id = device.index or 0
        self.description = f"onnxruntime {self.provider} {meta.get('precision', 'fp32')}"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = check_frames(frames)
        if min(frames.shape[1:3]) < MIN_SIDE:
            raise EngineError(f"image of {frames.shape[2]}×{frames.shape[1]} px is too small: both sides must be "
                              f"at least {MIN_SIDE} px")
        if not self.on_gpu:
            return self.session.run(None, {"frames": frames})[0]
        binding = self.session.io_binding()
        binding.bind_ortvalue_input("frames", ort.OrtValue.ortvalue_from_numpy(frames, "cuda", self.device_id))
        binding.bind_output("stylized", "cuda", self.device_id)
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]


class MosaicEngine:
    """Several painters at once: each stylises the frame scaled down to one tile of a grid the size of
    the frame, labelled with its name. So any clip renders as a side-by-side at its own size and cost."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines
        self.columns = math.ceil(math.sqrt(len(engines)))
        self.rows = math.ceil(len(engines) / self.columns)
        self.name = " + ".join(engine.name for engine in engines)
        self.description = engines[0].description

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = check_frames(frames)
        _, h, w, _ = frames.shape
        th, tw = h // self.rows, w // self.columns
        if min(th, tw) < MIN_SIDE:
            raise EngineError(f"{w}×{h} px is too small for a {self.columns}×{self.rows} mosaic")
        small = np.stack([cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA) for frame in frames])
        out = np.zeros_like(frames)  # black where the grid has no painter
        for k, engine in enumerate(self.engines):
            top, left = (k // self.columns) * th, (k % self.columns) * tw
            tiles = np.ascontiguousarray(engine(small))  # writable, in the layout OpenCV draws on
            for tile in tiles:
                _label(tile, engine.name)
            out[:, top:top + th, left:left + tw] = tiles
        return out


def _label(image: np.ndarray, text: str) -> None:
    """Write ``text`` in the lower left corner, white on a dark outline, scaled to fit the width."""
    h, w = image.shape[:2]
    width = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1)[0][0]
    scale = min(max(h / 400, 0.3), (w - 12) / width)
    for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(image, text, (6, h - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


@dataclass
class PainterFiles:
    """The files a painter may have: the checkpoint and its exported ONNX variants."""

    pt: Path | None
    onnx: Path | None
    onnx_fp16: Path | None


def find_painter(painter: str | os.PathLike) -> PainterFiles:
    """A painter name (looked up in checkpoints/) or a path to a ``.pt`` or ``.onnx`` file."""
    path = Path(painter)
    if path.suffix in (".pt", ".onnx"):
        if not path.is_file():
            raise PainterFileError(f"no such painter file: {path}")
        if path.suffix == ".pt":
            return PainterFiles(path, None, None)
        return PainterFiles(None, None, path) if path.name.endswith(".fp16.onnx") else PainterFiles(None, path, None)
    if path.suffix or path.exists():
        raise PainterFileError(f"{path} is not a painter: give a name from checkpoints/ or a .pt or .onnx file")
    files = PainterFiles(*(CHECKPOINTS / f"{painter}{ext}" for ext in (".pt", ".onnx", ".fp16.onnx")))
    files = PainterFiles(*(p if p.is_file() else None for p in (files.pt, files.onnx, files.onnx_fp16)))
    if not any((files.pt, files.onnx, files.onnx_fp16)):
        known = sorted({p.name.split(".")[0] for p in CHECKPOINTS.iterdir() if p.suffix in (".pt", ".onnx")})
        raise PainterFileError(f"unknown painter {painter!r}; known: {', '.join(known) or 'none yet'}")
    return files


def open_engine(painter: str | os.PathLike, engine: str = "auto", device: str = "auto",
                precision: str = "auto") -> Engine:
    """The engine for a painter. ``auto``: ONNX Runtime when an exported file exists, else PyTorch;
    fp16 on CUDA, fp32 on the CPU (where fp16 is slower and ONNX Runtime lacks fp16 kernels)."""
    if engine not in ENGINES or precision not in PRECISIONS:
        raise EngineError(f"engine must be one of {ENGINES} and precision one of {PRECISIONS}")
    files = find_painter(painter)
    dev = pick_device(device)
    half = precision == "fp16" or (precision == "auto" and dev.type == "cuda")
    onnx_file = (files.onnx_fp16 or files.onnx) if half else (files.onnx or files.onnx_fp16)
    if engine == "torch" or (engine == "auto" and onnx_file is None):
        if files.pt is None:
            raise EngineError(f"the PyTorch engine needs the painter's .pt file; {painter} has only ONNX files")
        chosen: Engine = TorchEngine(files.pt, dev, half)
    else:
        if onnx_file is None:
            raise EngineError(f"{painter} has no ONNX file; make one with: python -m infer export {painter}")
        chosen = OnnxEngine(onnx_file, dev)
    return chosen
