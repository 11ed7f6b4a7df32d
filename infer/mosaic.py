"""The mosaic: several painters side by side in one frame, each labelled, in the grid that crops least."""

from __future__ import annotations

import math

import cv2
import numpy as np

from infer.engines import Engine, EngineError, check_frames
from nets.transformer import MIN_SIDE


def mosaic_grid(count: int, width: int, height: int) -> tuple[int, int]:
    """(columns, rows) for ``count`` tiles in a width × height frame: the grid whose cells need the least of
    the frame cropped to fill them, then the fewest cells left over (those show the photo itself)."""
    def cost(columns: int) -> tuple[float, int]:
        rows = math.ceil(count / columns)
        cell, frame = (width / columns) / (height / rows), width / height
        return 1 - min(cell / frame, frame / cell), columns * rows - count
    columns = min(range(1, count + 1), key=cost)
    return columns, math.ceil(count / columns)


class MosaicEngine:
    """Several painters at once, in a grid that fills the frame: each paints the frame cropped to its cell's
    shape and scaled down to it, labelled with its name; a cell left over shows the photo. Any clip renders
    as a side-by-side at its own size and cost."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines
        self.name = " + ".join(engine.name for engine in engines)

    @property
    def description(self) -> str:
        return self.engines[0].description

    def __call__(self, frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        frames = check_frames(frames)
        _, h, w, _ = frames.shape
        columns, rows = mosaic_grid(len(self.engines), w, h)
        xs, ys = np.linspace(0, w, columns + 1).round().astype(int), np.linspace(0, h, rows + 1).round().astype(int)
        th, tw = ys[1] - ys[0], xs[1] - xs[0]
        if min(th, tw) < MIN_SIDE:
            raise EngineError(f"{w}×{h} px is too small for a {columns}×{rows} mosaic")
        # the middle of the frame at the cell's shape, scaled down to the (smallest) cell
        crop_w, crop_h = min(w, round(h * tw / th)), min(h, round(w * th / tw))
        x0, y0 = (w - crop_w) // 2, (h - crop_h) // 2
        small = np.stack([cv2.resize(f[y0:y0 + crop_h, x0:x0 + crop_w], (tw, th), interpolation=cv2.INTER_AREA)
                          for f in frames])
        out = np.empty_like(frames)
        cells = [(engine(small, times), engine.name) for engine in self.engines]
        cells += [(small, "photo")] * (columns * rows - len(self.engines))
        for k, (tiles, label) in enumerate(cells):
            top, left = ys[k // columns], xs[k % columns]
            bottom, right = ys[k // columns + 1], xs[k % columns + 1]
            tiles = np.ascontiguousarray(tiles)  # writable, in the layout OpenCV draws on
            for tile in tiles:
                _label(tile, label)
            stretched = tiles if (bottom - top, right - left) == (th, tw) else np.stack(  # a cell a pixel bigger
                [cv2.resize(t, (right - left, bottom - top), interpolation=cv2.INTER_LINEAR) for t in tiles])
            out[:, top:bottom, left:right] = stretched
        return out


def _label(image: np.ndarray, text: str) -> None:
    """Write ``text`` in the lower left corner, white on a dark band that keeps it readable on any painting,
    scaled to fit the width."""
    h, w = image.shape[:2]
    scale = max(h / 400, 0.3)
    for _ in range(4):  # text width is not proportional to the scale (OpenCV 5 rounds each glyph): measure again
        (text_w, text_h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        if text_w <= w - 12:
            break
        scale *= (w - 12) / text_w * 0.97
    top = max(0, h - 8 - text_h - 4)
    band = image[top:h - 8 + base, 2:min(w, 10 + text_w)]
    band[:] = (band * 0.35).astype(np.uint8)  # darkened, not hidden: the painting still shows through
    cv2.putText(image, text, (6, h - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


