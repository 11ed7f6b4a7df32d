"""Render-time controls: blends of a family's painters, cross-fades along a clip, strength, the photo's colours,
the scene's light, stroke size.

Blends and keyframes are painter weights fed to the network, so a mix of painters costs one pass, like a
single painter, on every engine. Strength, colours and light work on the output frames, so they apply to
any painter on any engine.

    --blend "vangogh_starry_night=0.6,munch_the_scream=0.4"
    --keyframes "0:vangogh_starry_night; 4:munch_the_scream; 8:hokusai_great_wave=0.5,munch_the_scream=0.5"
    --stroke-size 2   (the painter sees the frame at half size, so its strokes come out twice as big)

A photo's strokes follow its size unless ``--stroke-size`` is given (``picture_stroke_size``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from infer.engines import Engine, EngineError, Network, check_frames
from nets.errors import UserError
from nets.transformer import MIN_SIDE, SIZE_MULTIPLE

#: The stroke sizes offered: beyond them the painter sees too few pixels, or paints a frame 16× its size.
STROKE_SIZES = (0.25, 8.0)
#: A photo's longest side up to which its strokes keep their trained size (``picture_stroke_size``).
STROKE_REFERENCE_SIDE = 1024


class ControlError(UserError):
    """A blend, keyframe list, strength or painter choice that cannot work, said in one line."""


def parse_blend(text: str) -> dict[str, float]:
    """``"a=0.6,b=0.4"`` (or a bare ``"a"``) -> weights summing to 1."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            weight = float(value) if value else 1.0
        except ValueError:
            raise ControlError(f"cannot read the weight of {name.strip()!r} in {text!r}") from None
        if not math.isfinite(weight) or weight < 0:
            raise ControlError(f"blend weights must be finite and not negative: {part!r}")
        weights[name.strip()] = weights.get(name.strip(), 0.0) + weight
    total = sum(weights.values())
    if not weights:
        raise ControlError(f"{text!r} is no blend: write painter=weight, painter=weight …")
    if total <= 0:
        raise ControlError(f"the weights of {text!r} add up to 0: give at least one painter a weight above 0")
    return {name: weight / total for name, weight in weights.items()}


def blend_weights(blend: dict[str, float], painters: list[str], family: str) -> np.ndarray:
    """The blend as one weight per painter of the network (a row of painter weights)."""
    unknown = [name for name in blend if name not in painters]
    if unknown:
        raise ControlError(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in {family} "
                           f"({', '.join(painters)}); a blend mixes painters of one family")
    return np.array([blend.get(name, 0.0) for name in painters], dtype=np.float32)


@dataclass
class Keyframe:
    time: float  # seconds of the output
    blend: dict[str, float]


def parse_time(text: str) -> float:
    """Seconds from ``"4.5"``, ``"1:30"`` (minutes:seconds) or ``"1:02:03.5"`` (hours:minutes:seconds)."""
    parts = text.strip().split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return math.nan
    if len(values) > 3 or any(v < 0 for v in values) or any(v >= 60 for v in values[1:]):
        return math.nan
    return sum(v * 60 ** k for k, v in enumerate(reversed(values)))


def parse_keyframes(text: str) -> list[Keyframe]:
    """``"0:a; 4:b; 1:08.5:c=0.5,b=0.5"`` (seconds, or m:ss, or h:mm:ss, then the blend) -> keyframes, which
    must be in time order."""
    keyframes = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        when, colon, blend = part.rpartition(":")
        time = parse_time(when) if colon else math.nan
        if not math.isfinite(time):
            raise ControlError(f"a keyframe is time:blend (seconds, m:ss or h:mm:ss), e.g. 4:munch_the_scream or "
                               f"1:30:munch_the_scream, not {part!r}")
        keyframes.append(Keyframe(time, parse_blend(blend)))
    if not keyframes:
        raise ControlError("--keyframes needs at least one time:blend")
    for before, after in zip(keyframes, keyframes[1:], strict=False):
        if after.time == before.time:
            raise ControlError(f"two keyframes at {after.time:g} s")
        if after.time < before.time:
            raise ControlError(f"keyframes go in time order: {after.time:g} s comes after {before.time:g} s")
    return keyframes


def check_keyframes_fit(keyframes: list[Keyframe], seconds: float) -> None:
    """Refuse keyframes after the end of what is rendered (``seconds`` long): they would never be reached."""
    late = [k.time for k in keyframes if k.time > seconds + 1e-6]
    if late:
        raise ControlError(f"a keyframe at {late[0]:g} s is after the end of the clip rendered ({seconds:.2f} s)")


def keyframe_weights(keyframes: list[Keyframe], painters: list[str], family: str, times: np.ndarray) -> np.ndarray:
    """N×P painter weights at ``times``: eased (smoothstep) between keyframes, held before and after them."""
    stops = np.array([k.time for k in keyframes])
    rows = np.stack([blend_weights(k.blend, painters, family) for k in keyframes])
    times = np.asarray(times, dtype=np.float64)
    after = np.clip(np.searchsorted(stops, times, side="right"), 1, len(stops) - 1) if len(stops) > 1 else None
    if after is None:
        return np.repeat(rows, len(times), axis=0)
    start, end = stops[after - 1], stops[after]
    x = np.clip((times - start) / (end - start), 0.0, 1.0)
    ease = (x * x * (3 - 2 * x))[:, None]
    return ((1 - ease) * rows[after - 1] + ease * rows[after]).astype(np.float32)


class KeyframeEngine:
    """A family whose blend changes along a clip: each frame gets the weights of its time."""

    def __init__(self, network: Network, keyframes: list[Keyframe], family: str) -> None:
        self.network, self.keyframes, self.family = network, keyframes, family
        self.painters = [p["name"] for p in network.painters]
        keyframe_weights(keyframes, self.painters, family, np.zeros(1))  # unknown names fail here, not mid-clip
        self.name = " → ".join("+".join(k.blend) for k in keyframes)
        self.record = network.painters[0]

    @property
    def description(self) -> str:
        """What runs, read when asked: a lower precision that failed its check says so after the first frame."""
        return self.network.description

    def __call__(self, frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        if times is None:
            raise EngineError("keyframes need the time of every frame: they apply to clips")
        return self.network(frames, keyframe_weights(self.keyframes, self.painters, self.family, times))


#: The scene's light is the photo's lightness averaged over cells of 1/LIGHT_CELLS of the frame's longer side:
#: broad enough to leave every stroke to the painter, fine enough to keep a lit window in a dark street.
LIGHT_CELLS = 24


def scene_light(photo: np.ndarray, painted: np.ndarray, amount: float) -> np.ndarray:
    """``painted`` lit as ``photo`` is: each pixel scaled by (photo's local lightness / painting's) ** amount.

    Why a gain and not an offset: a night shot darkens the strokes' colours in proportion, keeping their
    contrast and hue, where an offset would clip the dark strokes to black. The complement of the photo's
    colours (``preserve_colors``): the painting's palette and strokes, the scene's light.
    """
    h, w = photo.shape[:2]
    scale = LIGHT_CELLS / max(h, w)
    cells = (max(1, round(w * scale)), max(1, round(h * scale)))

    def light(image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
        return cv2.resize(grey, cells, interpolation=cv2.INTER_AREA) + 8.0  # + 8: no gain from black over black

    gain = cv2.resize((light(photo) / light(painted)) ** amount, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(painted * gain.clip(0.05, 8.0)[..., None], 0, 255).round().astype(np.uint8)


class Adjusted:
    """An engine's output laid over the input at ``strength``, optionally in the input's own colours or light.

    Colours: the painting's luminance (Y) with the photo's chroma (Cb, Cr), as luminance-only style
    transfer (Gatys et al. 2017) does. Light: ``scene_light``. Strength: input + strength·(painting − input),
    per pixel.
    """

    def __init__(self, engine: Engine, strength: float = 1.0, preserve_colors: bool = False,
                 keep_light: float = 0.0) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ControlError(f"--strength is from 0 (the photo) to 1 (the painting), not {strength:g}")
        self.engine, self.strength, self.preserve_colors = engine, strength, preserve_colors
        self.keep_light = check_keep_light(keep_light)
        extras = ([f"strength {strength:g}"] if strength < 1 else []) + (["photo colours"] if preserve_colors else [])
        extras += [f"scene's light {keep_light:g}"] if keep_light else []
        self.name = engine.name + (f" ({', '.join(extras)})" if extras else "")
        self.grid = grid_of(engine)

    @property
    def description(self) -> str:
        return self.engine.description

    def __call__(self, frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        frames = check_frames(frames)
        styled = self.engine(frames, times)
        out = []
        for photo, painted in zip(frames, styled, strict=True):
            if self.keep_light:
                painted = scene_light(photo, painted, self.keep_light)
            if self.preserve_colors:
                ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb)
                ycc[..., 0] = cv2.cvtColor(np.ascontiguousarray(painted), cv2.COLOR_RGB2YCrCb)[..., 0]
                painted = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
            if self.strength < 1:
                painted = cv2.addWeighted(painted, self.strength, photo, 1 - self.strength, 0)
            out.append(painted)
        return np.stack(out)


def check_keep_light(amount: float) -> float:
    if not 0.0 <= amount <= 1.0:
        raise ControlError(f"--keep-light is from 0 (the painting's own light) to 1 (the scene's), not {amount:g}")
    return amount


def check_stroke_size(size: float) -> float:
    if not STROKE_SIZES[0] <= size <= STROKE_SIZES[1]:
        raise ControlError(f"--stroke-size is from {STROKE_SIZES[0]:g} (finer) to {STROKE_SIZES[1]:g} (bigger "
                           f"strokes), not {size:g}")
    return size


def picture_stroke_size(side: int) -> float:
    """The stroke size a photo whose longest side is ``side`` px gets by default: ×1 up to
    STROKE_REFERENCE_SIDE, then growing with the photo, so that the painter sees at most that many pixels.

    Why: strokes have a fixed size in the painter's input, so at ×1 a 4096-px photo came out nearly as the
    photo with a tint (strokes 1/8 as big, relative to it, as in its 512-px preview). Sized to the photo, it
    looks like its preview, only larger. Clips keep ×1: their frames are rarely that big, and a frame rate
    is worth more there."""
    return min(STROKE_SIZES[1], max(1.0, side / STROKE_REFERENCE_SIDE))


def grid_of(engine: Engine) -> float:
    """The period in px of the stroke grid an engine's output snaps to (the stabiliser follows the scene
    modulo it): the network's SIZE_MULTIPLE, times the stroke size."""
    return getattr(engine, "grid", SIZE_MULTIPLE)


class StrokeSize:
    """An engine run on the frame scaled by 1/``size`` and its painting scaled back: the painter's strokes
    have a fixed size in its input's pixels, so a smaller input gives bigger strokes (and a faster pass).

    A frame scaled up (``size`` < 1) may be too big to paint whole: the network's engine paints it in tiles
    then, as it does any big frame. Down: area averaging (no aliasing); up: bicubic.
    """

    def __init__(self, engine: Engine, size: float) -> None:
        self.engine, self.size = engine, check_stroke_size(size)
        self.name = f"{engine.name} (strokes ×{size:g})"
        self.grid = grid_of(engine) * size

    @property
    def description(self) -> str:
        return self.engine.description

    def __call__(self, frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        frames = check_frames(frames)
        h, w = frames.shape[1:3]
        small = (max(MIN_SIDE, round(w / self.size)), max(MIN_SIDE, round(h / self.size)))
        there, back = (cv2.INTER_AREA, cv2.INTER_CUBIC) if self.size > 1 else (cv2.INTER_CUBIC, cv2.INTER_AREA)
        scaled = np.stack([cv2.resize(frame, small, interpolation=there) for frame in frames])
        painted = self.engine(scaled, times)
        return np.stack([cv2.resize(image, (w, h), interpolation=back) for image in painted])
