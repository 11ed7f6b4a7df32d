"""The Python API behind ``python -m infer``: open a painter once, stylise arrays, photos and clips.

    from infer.stylizer import Stylizer
    stylizer = Stylizer("vangogh_starry_night")        # a name in checkpoints/, or a .pt / .onnx path
    out = stylizer.image(array)                          # H×W×3 uint8 RGB in, H×W×3 uint8 RGB out
    stylizer.video("clip.mp4", "clip_vangogh.mp4")       # every frame, audio kept
    Stylizer(["vangogh_starry_night", "munch_the_scream"]).video(...)  # a labelled side-by-side
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from infer.engines import Engine, EngineError, MosaicEngine, open_engine
from infer.video import RenderOptions, RenderStats, stylize_video
from nets.files import atomic_path
from nets.images import fit_longest_side, open_rgb


class Stylizer:
    """A painter loaded on an engine (see ``infer.engines.open_engine`` for the choices); several painters
    make a labelled mosaic of them all, at the size of the input."""

    def __init__(self, painter: str | os.PathLike | Sequence[str | os.PathLike], engine: str = "auto",
                 device: str = "auto", precision: str = "auto") -> None:
        painters = [painter] if isinstance(painter, str | os.PathLike) else list(painter)
        engines = [open_engine(p, engine, device, precision) for p in painters]
        self.engine: Engine = engines[0] if len(engines) == 1 else MosaicEngine(engines)
        self.name = self.engine.name

    def image(self, array: np.ndarray) -> np.ndarray:
        """Stylise one H×W×3 uint8 RGB image in a single full-resolution pass."""
        if array.ndim != 3:
            raise EngineError(f"expected an H×W×3 uint8 RGB array, got {array.dtype} {array.shape}")
        return self.engine(array[None])[0]

    def file(self, src: str | os.PathLike, dst: str | os.PathLike, max_size: int | None = None) -> None:
        """Stylise a photo file into ``dst`` (format from its extension), written atomically."""
        photo = fit_longest_side(open_rgb(src), max_size)
        result = Image.fromarray(self.image(np.asarray(photo)))
        with atomic_path(dst) as tmp:
            result.save(tmp, quality=95)  # quality applies to JPEG/WebP; other formats ignore it

    def video(self, src: str | os.PathLike, dst: str | os.PathLike, options: RenderOptions | None = None
              ) -> RenderStats:
        """Stylise every frame of a clip into ``dst``, keeping frame rate, size, duration and audio."""
        return stylize_video(src, dst, self.engine, options)
