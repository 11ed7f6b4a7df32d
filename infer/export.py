"""Painter checkpoint -> ONNX with dynamic batch, height and width, checked before it is kept.

The graph takes and returns uint8 N×H×W×3 RGB frames (see ``FrameTransformer``); a family's graph also
takes the painter weights, float32 N×P (one row per frame), so painters can be blended live. One painter
of a family, or a fixed blend, exports as a one-painter graph with the single ``frames`` input. The graph
also gives the instance-norm statistics of its pass (``norm_stats``, N×S), and a second graph beside it,
``<name>.tiles.onnx``, takes them as an input: frames too big for memory run as tiles of the second graph
with the statistics of a thumbnail from the first (``infer.tiles``).

An export is written to temporary files, run with ONNX Runtime against PyTorch on a real photo at two
sizes (one odd), for every painter and one blend, and only renamed into place if it agrees. The fp16
variant is compared with the fp32 PyTorch output as well, because fp16 InstanceNormalization has been
wrong in ONNX Runtime before.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from PIL import Image
from torch import nn

from infer.networks import tiles_graph
from infer.precision import TOLERANCE, difference
from nets.errors import UserError
from nets.files import atomic_path, file_sha256
from nets.images import fit_longest_side
from nets.painter import load_painter
from nets.transformer import MIN_SIDE, FrameTransformer, NormStats

OPSET = 18
INPUT_CONVENTION = ("frames: uint8 RGB N×H×W×3 (H, W ≥ 8) -> stylized: uint8 RGB N×H×W×3, norm_stats: float32 "
                    "N×S")
FAMILY_CONVENTION = ("frames: uint8 RGB N×H×W×3 (H, W ≥ 8), painter_weights: float32 N×P (rows sum to 1, "
                     "P = the painters in metadata 'painters') -> stylized: uint8 RGB N×H×W×3, norm_stats: "
                     "float32 N×S")
#: Largest difference of the norm statistics to PyTorch's, relative to their mean magnitude.
STATS_TOLERANCE = {"fp32": 1e-3, "fp16": 3e-2}


class ExportError(UserError):
    """The exported graph does not agree with PyTorch, or cannot be written."""


@dataclass
class ExportReport:
    path: Path
    precision: str
    max_diff: dict[str, int]  # per checked case, in uint8 levels
    mean_diff: dict[str, float]
    providers: list[str]


class _Graph(nn.Module):
    """What is exported: frames (and painter weights) -> stylised frames and their norm statistics."""

    def __init__(self, frames: FrameTransformer) -> None:
        super().__init__()
        self.frames = frames

    def forward(self, frames: torch.Tensor, mix: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        stats = NormStats(record=True)
        return self.frames(frames, mix, stats), stats.flat()


class _TileGraph(nn.Module):
    """Tiles of one frame (and painter weights) and that frame's norm statistics (1×S) -> stylised tiles."""

    def __init__(self, frames: FrameTransformer) -> None:
        super().__init__()
        self.frames = frames

    def forward(self, frames: torch.Tensor, mix: torch.Tensor | None, norm_stats: torch.Tensor) -> torch.Tensor:
        return self.frames(frames, mix, NormStats.from_flat(norm_stats, self.frames.net.norm_channels))


def _export_graph(module: nn.Module, net: nn.Module, example: torch.Tensor, path: Path, tiles: bool) -> None:
    batch, height, width = (torch.export.Dim(n, min=MIN_SIDE if n != "batch" else 1, max=16384)
                            for n in ("batch", "height", "width"))
    family = net.painters > 1
    mix = torch.full((len(example), net.painters), 1 / net.painters)
    args: list = [example, mix if family else None]
    names = ["frames"] + (["painter_weights"] if family else [])
    shapes: dict = {"frames": {0: batch, 1: height, 2: width}, "mix": {0: batch} if family else None}
    if tiles:
        args.append(torch.zeros(1, 2 * sum(net.norm_channels)))
        names.append("norm_stats")
        shapes["norm_stats"] = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tuple(args),
            str(path),
            input_names=names,
            output_names=["stylized"] if tiles else ["stylized", "norm_stats"],
            opset_version=OPSET,
            dynamo=True,
            dynamic_shapes=shapes,
            external_data=False,
            verbose=False,
        )


def _add_metadata(path: Path, fields: dict[str, str]) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in fields.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def _providers() -> list[str]:
    """The CPU provider always; CUDA too where it can run, since fp16 kernels differ between the two."""
    cuda = "CUDAExecutionProvider" in ort.get_available_providers() and torch.cuda.is_available()
    return ["CPUExecutionProvider"] + (["CUDAExecutionProvider"] if cuda else [])


def _check(path: Path, tiles: Path, reference: FrameTransformer, photos: list[np.ndarray], precision: str
           ) -> ExportReport:
    """Every painter (one-hot) and an even blend of them, on every photo, on every provider there is; the
    statistics the graph gives; and the tile graph fed them."""
    painters = reference.net.painters
    blends = list(np.eye(painters, dtype=np.float32)) + ([np.full(painters, 1 / painters, np.float32)]
                                                          if painters > 1 else [])
    cases = [(photo, blend) for photo in photos for blend in blends]
    wanted = []
    with torch.inference_mode():
        for photo, blend in cases:
            stats = NormStats(record=True)
            image = reference(torch.tensor(photo[None]), torch.tensor(blend[None]), stats)
            wanted.append((image.numpy(), stats.flat().numpy()))
    max_diff, mean_diff = {}, {}
    providers = _providers()
    for provider in providers:
        sessions = [ort.InferenceSession(str(p), providers=[provider]) for p in (path, tiles)]
        for (photo, blend), (want, want_stats) in zip(cases, wanted, strict=True):
            key = f"{photo.shape[1]}x{photo.shape[0]}"
            if painters > 1:
                key += " " + ("blend" if blend.max() < 1 else f"painter {int(blend.argmax())}")
            if provider != providers[0]:
                key += f" {provider}"
            inputs = {"frames": photo[None]} | ({"painter_weights": blend[None]} if painters > 1 else {})
            got, stats = sessions[0].run(None, inputs)
            scale = np.abs(want_stats).mean()
            if np.abs(stats - want_stats).max() > STATS_TOLERANCE[precision] * scale:
                raise ExportError(f"{precision} export's norm statistics differ from PyTorch at {key}; not kept")
            tiled = sessions[1].run(None, inputs | {"norm_stats": stats})[0]
            for label, result in ((key, got), (f"{key} tiles", tiled)):
                if result.shape != want.shape:
                    raise ExportError(f"exported graph gives shape {result.shape} for {label}, PyTorch {want.shape}")
                diff = difference(result, want)
                max_diff[label], mean_diff[label] = diff.max, diff.mean
                if not diff.within(precision):
                    raise ExportError(f"{precision} export differs from PyTorch at {label} by {diff} (allowed "
                                      f"{TOLERANCE[precision]}); not kept")
    return ExportReport(path, precision, max_diff, mean_diff, providers)


def verification_photos() -> list[np.ndarray]:
    """A real photo at two sizes, one odd, from scikit-image's bundled samples (available offline)."""
    from skimage import data

    photo = Image.fromarray(data.astronaut())
    return [np.asarray(fit_longest_side(photo, 256)), np.asarray(photo.resize((181, 139), Image.Resampling.LANCZOS))]


def export_painter(checkpoint: str | os.PathLike, output: str | os.PathLike, photos: list[np.ndarray],
                   fp16: bool = False, weights: np.ndarray | None = None, name: str | None = None) -> ExportReport:
    """Export ``output`` and its tile graph, verify both on ``photos`` (uint8 H×W×3; use two sizes, one
    odd) and keep the files only if they agree.

    ``weights`` (one per painter of the file) exports that one painter or blend as a one-painter graph,
    called ``name``; without them the whole file (a family: a graph with painter weights) is exported.
    """
    checkpoint, output = Path(checkpoint), Path(output)
    model, payload = load_painter(checkpoint)
    painters = payload["painters"]
    if weights is not None:
        model = model.blended(torch.as_tensor(weights, dtype=torch.float32))
        shares = {p["name"]: float(w) for p, w in zip(painters, weights, strict=True) if w > 0}
        painters = [painters[int(np.argmax(weights))] | {"name": name, "blend": shares}] if len(shares) > 1 \
            else [painters[int(np.argmax(weights))]]
    reference = FrameTransformer(model).eval()
    precision = "fp16" if fp16 else "fp32"
    module = FrameTransformer(copy.deepcopy(model).half()).eval() if fp16 else reference
    metadata = {
        "painter": name or payload["name"],
        "painters": json.dumps(painters),
        "precision": precision,
        "input_convention": FAMILY_CONVENTION if model.painters > 1 else INPUT_CONVENTION,
        "source_checkpoint": checkpoint.name,
        "source_sha256": file_sha256(checkpoint),
        "train_config": json.dumps(payload["config"]),
        "torch": str(torch.__version__),
    }
    example = torch.tensor(np.stack([photos[0]] * 2))  # a batch of 1 would fix the batch size at 1
    with contextlib.ExitStack() as stack:
        graph, tiles = (stack.enter_context(atomic_path(p)) for p in (output, tiles_graph(output)))
        _export_graph(_Graph(module), model, example, graph, tiles=False)
        _export_graph(_TileGraph(module), model, example, tiles, tiles=True)
        _add_metadata(graph, metadata)
        _add_metadata(tiles, metadata | {"input_convention": "the graph's, plus norm_stats: float32 1×S, the "
                                                             "norm statistics of the whole frame the tiles come from"})
        report = _check(graph, tiles, reference, photos, precision)
    report.path = output
    return report
