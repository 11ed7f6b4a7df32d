"""The Python API behind ``python -m infer``: open a painter once, stylise arrays, photos and clips.

    from infer.stylizer import Stylizer
    stylizer = Stylizer("vangogh_starry_night")        # a painter or family in checkpoints/, or a .pt / .onnx path
    out = stylizer.image(array)                          # H×W×3 uint8 RGB in, H×W×3 uint8 RGB out
    stylizer.video("clip.mp4", "clip_vangogh.mp4")       # every frame, audio kept
    Stylizer(["vangogh_starry_night", "munch_the_scream"]).video(...)  # a labelled side-by-side
    Stylizer(blend="vangogh_starry_night=0.6,munch_the_scream=0.4", strength=0.8, preserve_colors=True)
    Stylizer("munch_the_scream", stroke_size=2)         # strokes twice as big
    Stylizer("four_painters").video(src, dst, keyframes="0:vangogh_starry_night; 4:munch_the_scream")
    stylizer.video("clip.mp4", "raw.mp4", stabilize=0)  # clips are steadied unless told otherwise
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from infer.controls import (
    Adjusted,
    ControlError,
    Keyframe,
    KeyframeEngine,
    StrokeSize,
    blend_weights,
    check_keyframes_fit,
    check_stroke_size,
    parse_blend,
    parse_keyframes,
    picture_stroke_size,
)
from infer.engines import Engine, EngineError, Network, PainterEngine, painter_engines
from infer.mosaic import MosaicEngine
from infer.painters import PainterFiles, PainterRef, find_painter
from infer.plan import Plan, open_planned, plan
from infer.steady import DEFAULT_STRENGTH, SteadyError, check_strength
from infer.tiles import Tiling
from infer.video import RenderOptions, RenderStats, probe, rendered_seconds, stylize_video
from nets.errors import UserError
from nets.files import atomic_path
from nets.images import fit_longest_side, holds_alpha, open_rgb_alpha

PainterSpec = str | os.PathLike


class OutputExistsError(UserError):
    """The output is there already and replacing it was not asked for."""


def _check_output(dst: str | os.PathLike, overwrite: bool) -> None:
    if Path(dst).exists() and not overwrite:
        raise OutputExistsError(f"{dst} exists; pass --overwrite (overwrite=True) to replace it")


def _family(ref: PainterRef) -> str:
    source = ref.files.first
    return source.name.split(".")[0] if source else "?"


class Stylizer:
    """A painter loaded on an engine (see ``infer.plan`` for the choices).

    ``painter``: a painter, a family (all its painters side by side) or several of either (a labelled
    mosaic). ``blend``: painters of one family mixed ("a=0.6,b=0.4" or a dict), with ``painter`` naming
    that family or one of them if given. ``strength`` lays the painting over the photo (0 … 1) and
    ``preserve_colors`` keeps the photo's colours, ``keep_light`` (0 … 1) its light; ``stroke_size`` > 1 paints
    bigger strokes (< 1 finer ones) by running the painter on the frame scaled by 1/``stroke_size``; all work with
    any painter and engine. By default (None) a photo's strokes follow its size (``picture_stroke_size``) and a
    clip's keep their trained size.
    ``tiling``: when frames are cut into tiles (by default, when a frame would not fit half the free memory).
    ``workload``: the pixels this stylizer will paint (frames × pixels a frame), if known; a large one makes
    the default engine the compiled one. ``fast``: each painter from its family's fast version (``<family>_fast``, about
    5× quicker on a CPU) where there is one.
    """

    def __init__(self, painter: PainterSpec | Sequence[PainterSpec] | None = None, engine: str = "auto",
                 device: str = "auto", precision: str = "auto", *, blend: str | dict[str, float] | None = None,
                 strength: float = 1.0, preserve_colors: bool = False, stroke_size: float | None = None,
                 tiling: Tiling | None = None, workload: float = 0, fast: bool = False, keep_light: float = 0.0
                 ) -> None:
        specs = [] if painter is None else [painter] if isinstance(painter, str | os.PathLike) else list(painter)
        weights = (parse_blend(blend) if isinstance(blend, str) else parse_blend(
            ",".join(f"{k}={v}" for k, v in blend.items()))) if blend is not None else None
        if weights is not None and len(specs) > 1:
            raise ControlError("a blend takes at most one painter or family besides it")
        if not specs and weights is None:
            raise ControlError("name a painter (-m) or a blend (--blend)")
        self.network: Network | None = None  # the one painter file in use, if there is just one
        self.plans: list[Plan] = []  # how each painter file was opened, and why
        self.family = ""
        self.blend = weights
        if len(specs) <= 1:
            ref = find_painter(specs[0] if specs else next(iter(weights or {})), fast=fast)
            if weights is not None and ref.painter is not None and ref.painter not in weights:
                raise ControlError(f"-m {ref.painter} is not in the blend ({', '.join(weights)}): name its family "
                                   f"({_family(ref)}) or leave -m out")
            self.network = self._planned(ref.files, engine, device, precision, tiling, workload)
            self.family = _family(ref)
            if weights is not None:
                names = [p["name"] for p in self.network.painters]
                label = " + ".join(f"{name} {share:.0%}" for name, share in weights.items())
                base: Engine = PainterEngine(self.network, blend_weights(weights, names, self.family), label)
            else:
                engines = painter_engines(self.network, ref.painter)
                base = engines[0] if len(engines) == 1 else MosaicEngine(engines)
        else:
            base = MosaicEngine([e for spec in specs
                                 for e in self._open(spec, engine, device, precision, tiling, workload, fast)])
        self.strength, self.preserve_colors = strength, preserve_colors
        self.stroke_size = None if stroke_size is None else check_stroke_size(stroke_size)
        self.keep_light = keep_light
        self.mosaic = isinstance(base, MosaicEngine)
        self.base = base
        self.engine: Engine = self._adjusted(base)
        self.name = self.engine.name

    @property
    def who(self) -> str:
        """The painter and, where another file holds it, its family (``--fast``: the fast family), for a result
        line: "vangogh_starry_night of four_painters_fast"."""
        family = self.family if self.family and self.family not in (self.name, "?") and not self.mosaic else ""
        return f"{self.name} of {family}" if family else self.name

    def _planned(self, files: PainterFiles, engine: str, device: str, precision: str, tiling: Tiling | None,
                 workload: float) -> Network:
        """A painter file opened as ``infer.plan`` decides; its plan is kept for ``explain``."""
        chosen = plan(files, engine, device, precision, tiling, workload)
        self.plans.append(chosen)
        return open_planned(chosen)

    def _open(self, spec: PainterSpec, engine: str, device: str, precision: str, tiling: Tiling | None,
              workload: float, fast: bool) -> list[PainterEngine]:
        ref = find_painter(spec, fast=fast)
        return painter_engines(self._planned(ref.files, engine, device, precision, tiling, workload), ref.painter)

    def explain(self) -> str:
        """How each painter file was opened, and why (``--explain``)."""
        return "\n".join(chosen.explain() for chosen in self.plans)

    def _adjusted(self, engine: Engine, stroke_size: float | None = None) -> Engine:
        """The output controls around a painting engine: stroke size inside (it changes what is painted),
        strength and colours outside (they mix the painting with the full-size photo)."""
        stroke_size = stroke_size or self.stroke_size or 1.0
        if stroke_size != 1.0:
            engine = StrokeSize(engine, stroke_size)
        if self.strength == 1.0 and not self.preserve_colors and not self.keep_light:
            return engine
        return Adjusted(engine, self.strength, self.preserve_colors, self.keep_light)

    @classmethod
    def of(cls, engine: Engine, strength: float = 1.0, preserve_colors: bool = False,
           stroke_size: float | None = None, keep_light: float = 0.0) -> Stylizer:
        """A stylizer on an engine already open (one network shared by several painters, or by every
        setting of a page's sliders), with the output controls as in ``Stylizer``."""
        stylizer = cls.__new__(cls)
        stylizer.strength, stylizer.preserve_colors = strength, preserve_colors
        stylizer.stroke_size = None if stroke_size is None else check_stroke_size(stroke_size)
        stylizer.keep_light, stylizer.base = keep_light, engine
        stylizer.engine = stylizer._adjusted(engine)
        stylizer.name, stylizer.network = stylizer.engine.name, None
        stylizer.family, stylizer.blend, stylizer.plans = "", None, []
        stylizer.mosaic = isinstance(engine, MosaicEngine)
        return stylizer

    def image(self, array: np.ndarray) -> np.ndarray:
        """Stylise one H×W×3 uint8 RGB image in a single full-resolution pass (its strokes sized to it unless
        ``stroke_size`` was given)."""
        if array.ndim != 3:
            raise EngineError(f"expected an H×W×3 uint8 RGB array, got {array.dtype} {array.shape}")
        return self.photo_engine(max(array.shape[:2]))(array[None])[0]

    def photo_stroke_size(self, side: int) -> float:
        """The stroke size a photo of this longest side is painted with."""
        return self.stroke_size or picture_stroke_size(side)

    def photo_engine(self, side: int) -> Engine:
        """The engine that paints a photo of this longest side: ``engine``, or one with bigger strokes."""
        size = self.photo_stroke_size(side)
        return self.engine if self.stroke_size is not None or size == 1.0 else self._adjusted(self.base, size)

    def file(self, src: str | os.PathLike, dst: str | os.PathLike, max_size: int | None = None,
             overwrite: bool = False) -> None:
        """Stylise a photo file into ``dst`` (format from its extension), written atomically; ``max_size``
        scales a bigger photo down (never up); an existing ``dst`` is only replaced with ``overwrite``."""
        _check_output(dst, overwrite)
        rgb, alpha = open_rgb_alpha(src)
        photo = np.asarray(fit_longest_side(rgb, max_size, enlarge=False))  # photos can be huge: one copy
        del rgb
        result = Image.fromarray(self.image(photo))
        del photo
        if alpha is not None and holds_alpha(Path(dst).suffix):  # the painting takes the photo's transparency
            result.putalpha(alpha.resize(result.size, Image.Resampling.LANCZOS))
        with atomic_path(dst) as tmp:
            result.save(tmp, quality=95)  # quality applies to JPEG/WebP; other formats ignore it

    def keyframed(self, keyframes: str | list[Keyframe]) -> Engine:
        """The engine that cross-fades this stylizer's family along a clip by ``keyframes``."""
        if self.network is None:
            raise ControlError("keyframes blend the painters of one family: name one family or painter, not several")
        if self.blend is not None:
            raise ControlError("give a blend (one mix for the whole clip) or keyframes (mixes along it), not both")
        frames = parse_keyframes(keyframes) if isinstance(keyframes, str) else keyframes
        return self._adjusted(KeyframeEngine(self.network, frames, self.family))

    def steady_strength(self, asked: float | None = None, keyframed: bool = False) -> float:
        """The stabiliser strength a clip gets: as asked, else DEFAULT_STRENGTH; a mosaic (unless keyframes
        make it one family's cross-fade) is not steadied: its tiles are not the frame the motion is measured on."""
        mosaic = self.mosaic and not keyframed
        if asked is None:
            return 0.0 if mosaic else DEFAULT_STRENGTH
        if check_strength(asked) > 0 and mosaic:
            raise SteadyError("--stabilize steadies one painter or a blend, not a mosaic of several")
        return asked

    def video(self, src: str | os.PathLike, dst: str | os.PathLike, options: RenderOptions | None = None,
              keyframes: str | list[Keyframe] | None = None, stabilize: float | None = None,
              overwrite: bool = False) -> RenderStats:
        """Stylise every frame of a clip into ``dst``, keeping frame rate, size, duration and audio.

        ``keyframes`` ("0:a; 4:b; 8:a=0.5,c=0.5"): blends at seconds of the output, eased between them.
        ``stabilize``: the stabiliser's strength, 0 (off) to 1; by default ``options.stabilize``, else
        DEFAULT_STRENGTH (see ``infer.steady``). An existing ``dst`` is only replaced with ``overwrite``.
        """
        _check_output(dst, overwrite)
        options = dataclasses.replace(options or RenderOptions())
        engine = self.engine
        if keyframes is not None:
            keyframes = parse_keyframes(keyframes) if isinstance(keyframes, str) else keyframes
            engine = self.keyframed(keyframes)
            check_keyframes_fit(keyframes, rendered_seconds(probe(src), options.start, options.duration))
        options.stabilize = self.steady_strength(stabilize if stabilize is not None else options.stabilize,
                                                 keyframes is not None)
        if options.steady_device is None and self.network is not None and torch.cuda.is_available():
            gpu = self.network.cuda_device  # the stabiliser beside a GPU engine: its warps there take milliseconds
            options.steady_device = None if gpu is None else str(gpu)
        return stylize_video(src, dst, engine, options)
