"""Any frame size in bounded memory: tiles that share one set of instance-norm statistics.

Instance norm makes every pixel depend on statistics of the whole frame; tiles normalised each with their
own statistics come out in slightly different brightness and colour, and that shows as seams. Here the
statistics come from one pass over a thumbnail of the whole frame (Thumbnail Instance Normalization, Chen
et al. 2022) and every full-size tile is normalised with them. Tiles overlap by more than the network's
receptive field, so each tile's core is exactly what an untiled pass with the same statistics gives; only
the thumbnail's statistics differ a little from the full frame's own.

A thumbnail's statistics differ from the frame's own, most in the first layers, whose 9×9 filters see
finer texture at full size, and every layer's error counts: on a 2048×1536 photo, 11–14 levels from the
untiled painting with a thumbnail of 0.1–1 megapixels, 2.5 even with one of 2 megapixels, and neither
mixing exact and thumbnail statistics nor refining them all at once converges. So a network that can
measure takes each norm's statistics over the tiles, in order: one pass per norm, stopped at that norm,
normalising with the exact statistics of the norms before it (``exact_statistics``). The untiled painting
then comes back within rounding, in the memory of a tile, for about 6 passes' time (the passes stop early,
most of them in the residual blocks). A network that cannot (an ONNX graph without its painter file)
takes the thumbnail's.

A network supports tiling with two calls (see ``infer.engines.Network``): ``statistics`` (a thumbnail ->
flat norm statistics) and ``tile`` (tiles and those statistics -> stylised tiles).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from nets.progress import progress_bar

if TYPE_CHECKING:
    import torch

#: Margin on every side of a tile's core, in px: more than the network's receptive-field radius (measured:
#: one changed pixel moves outputs up to 53 px away), and a multiple of 4 to keep the network's two
#: stride-2 stages on the same grid as the whole frame's.
OVERLAP = 64
#: The smallest thumbnail, longest side in px, whatever the budget.
MIN_THUMBNAIL = 512
#: A pass over one tile up to one norm: (tile 1×H×W×3, weights 1×P, the statistics of the norms before it,
#: core (top, bottom, left, right, padded height), the norm's index) -> the norm's sums over the core (3×C).
Measure = Callable[[np.ndarray, np.ndarray, dict, tuple[int, int, int, int, int], int], "torch.Tensor"]


@dataclass
class Measuring:
    """How a network measures its norms over tiles (``exact_statistics``): the pass, and how many norms it has."""

    measure: Measure
    norms: int
#: Memory a full pass takes per pixel, fp32, measured on the CPU (ONNX Runtime 842, PyTorch 1030 bytes), with
#: some room.
BYTES_PER_PIXEL = {"onnx": 900, "torch": 1100}
#: On the CPU, frames above this much of a full pass are tiled by default: a 1080p frame runs whole, a
#: 4K one in tiles, and no photo takes more than a few GB.
CPU_BUDGET = 2 * 2**30


@dataclass
class Tiling:
    """When and how frames are cut: ``tile`` (a core side in px) forces tiles; otherwise frames bigger than
    ``max_memory`` (bytes; default: half the free memory of the device, at most ``CPU_BUDGET`` on the CPU)
    are tiled to fit it."""

    tile: int | None = None
    max_memory: int | None = None

    def tile_side(self, height: int, width: int, budget: int, bytes_per_pixel: float) -> int | None:
        """The core side to cut a frame into, or None to run it whole."""
        if self.tile is not None:
            return self.tile
        limit = self.max_memory or budget
        if height * width * bytes_per_pixel <= limit:
            return None
        side = int((self.working_pixels(budget, bytes_per_pixel)) ** 0.5) - 2 * OVERLAP  # a tile with margins
        return max(128, side // 4 * 4)

    def working_pixels(self, budget: int, bytes_per_pixel: float) -> float:
        """How big a tile (with its margins) or a thumbnail may be: half the budget, the other half left for
        the frame itself and its output, which a frame that needs tiles makes big."""
        return (self.max_memory or budget) / 2 / bytes_per_pixel


def parse_size(text: str) -> int:
    """``3G``, ``500M``, ``2.5GB`` or a number of bytes -> bytes."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    number = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = number[-1:] if number[-1:] in units else ""
    try:
        value = float(number[: len(number) - len(unit)]) * units[unit]
    except ValueError:
        raise ValueError(f"cannot read the size {text!r}: write e.g. 3G or 500M") from None
    if value <= 0:
        raise ValueError(f"a memory size must be positive, not {text!r}")
    return int(value)


def free_memory() -> int:
    """Bytes of host memory available now (Linux: MemAvailable; elsewhere: free pages)."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def thumbnail(frame: np.ndarray, side: int | None = None, pixels: float | None = None) -> np.ndarray:
    """The frame scaled down (area averaging) so that its longest side is at most ``side``, or its area at
    most ``pixels`` (but its longest side at least ``MIN_THUMBNAIL``)."""
    h, w = frame.shape[:2]
    scale = side / max(h, w) if side is not None else max((pixels or h * w) / (h * w), 0) ** 0.5
    scale = max(scale, MIN_THUMBNAIL / max(h, w))
    if scale >= 1:
        return frame
    return cv2.resize(frame, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)


def boxes(height: int, width: int, core: int, overlap: int = OVERLAP) -> list[tuple[slice, slice, slice, slice]]:
    """(rows, columns) of each tile with its margins, then (rows, columns) of its core within the tile.

    Cores are ``core`` px squares on a grid aligned to multiples of 4 (the last row and column take what
    is left); margins stop at the frame's edges, where the network reflects as it does for a whole frame.
    """
    core = max(4, core // 4 * 4)
    out = []
    for top in range(0, height, core):
        for left in range(0, width, core):
            bottom, right = min(top + core, height), min(left + core, width)
            y0, x0 = max(0, top - overlap), max(0, left - overlap)
            y1, x1 = min(height, bottom + overlap), min(width, right + overlap)
            out.append((slice(y0, y1), slice(x0, x1), slice(top - y0, bottom - y0), slice(left - x0, right - x0)))
    return out


def padded_side(side: int) -> int:
    """A side as the network pads it (to a multiple of 4): the padding counts in a whole frame's statistics."""
    return -(-side // 4) * 4


def exact_statistics(frame: np.ndarray, weights: np.ndarray, core: int, measuring: Measuring) -> np.ndarray:
    """``frame``'s own statistics (1×S flat), as an untiled pass would take them, from passes over its tiles: one
    per norm, each summing the norm's input over the tiles' cores (which tile the frame padded to ×4, as the
    untiled pass sees it) with the norms before it normalised by theirs."""
    from nets.transformer import NormStats  # torch, only where statistics are measured

    h, w = frame.shape[:2]
    row = weights[None].astype(np.float32)
    parts = boxes(h, w, core)
    values: dict = {}
    for index in range(measuring.norms):
        total = None
        for rows, cols, core_rows, core_cols in parts:
            tile = np.ascontiguousarray(frame[rows, cols])[None]
            th, tw = tile.shape[1:3]
            last_row, last_column = rows.start + core_rows.stop == h, cols.start + core_cols.stop == w
            region = (core_rows.start, padded_side(th) if last_row else core_rows.stop, core_cols.start,
                      padded_side(tw) if last_column else core_cols.stop, padded_side(th))
            sums = measuring.measure(tile, row, values, region, index)
            total = sums if total is None else total + sums
        values[index] = NormStats.from_sums(total)
    return NormStats(False, values).flat().numpy()


def stylize_tiled(frame: np.ndarray, weights: np.ndarray, core: int,
                  statistics: Callable[[np.ndarray, np.ndarray], np.ndarray],
                  tile: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                  stats: np.ndarray | None = None, thumbnail_pixels: float | None = None,
                  progress: bool = False, measuring: Measuring | None = None) -> np.ndarray:
    """One H×W×3 uint8 frame in tiles of ``core`` px, all normalised with ``stats`` when given, else with the
    frame's own statistics where the network can measure them over the tiles (``measuring``), else with those of a
    thumbnail of at most ``thumbnail_pixels`` (default: the size of a tile with its margins); the same size
    out."""
    row = weights[None].astype(np.float32)
    if stats is None and measuring is not None:
        stats = exact_statistics(frame, weights, core, measuring)
    elif stats is None:
        pixels = thumbnail_pixels if thumbnail_pixels is not None else (core + 2 * OVERLAP) ** 2
        stats = statistics(thumbnail(frame, pixels=pixels)[None], row)
    out = np.empty_like(frame)
    parts = boxes(*frame.shape[:2], core)
    for rows, cols, core_rows, core_cols in progress_bar(parts, desc="tiles", unit="tile", disable=not progress,
                                                 leave=False):
        styled = tile(np.ascontiguousarray(frame[rows, cols])[None], row, stats)[0]
        out[rows, cols][core_rows, core_cols] = styled[core_rows, core_cols]
    return out
