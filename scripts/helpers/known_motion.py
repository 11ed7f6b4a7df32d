"""Clips whose motion is known exactly, made from still photos: what a stabiliser is judged on.

A stabiliser that uses DIS flow and is measured with DIS flow can look better than it is, so these clips
carry their exact flow (current -> previous, as ``nets.warp`` expects) and the mask of pixels that count
(in the frame, not just uncovered). Camera moves are affine maps of a photo; ``moving_object`` slides a
textured disc over a still background, so the pixels it uncovers (where a stabiliser must not leave a
trail) are known too; ``still_shot`` is one photo with fresh sensor noise in every frame (drift).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

MOVES = ("pan", "zoom", "rotate")


@dataclass
class KnownClip:
    name: str
    frames: list[np.ndarray]  # H×W×3 uint8
    flows: list[np.ndarray] = field(default_factory=list)  # per pair (t-1, t): H×W×2, current -> previous
    masks: list[np.ndarray] = field(default_factory=list)  # per pair: H×W, 1 where the pixel counts
    uncovered: list[np.ndarray] = field(default_factory=list)  # per pair: H×W bool, just disoccluded (object)


def _move(kind: str, t: int, photo_w: int, photo_h: int, w: int, h: int) -> np.ndarray:
    """2×3 map from frame pixels to photo pixels at frame ``t`` (a sub-pixel pan, a zoom in, a turn)."""
    centre = np.array([photo_w / 2, photo_h / 2])
    if kind == "pan":
        return np.array([[1, 0, 12 + 1.37 * t], [0, 1, 10 + 0.61 * t]], np.float64)
    if kind == "zoom":
        scale = 1 / (1 + 0.006 * t)
        linear = scale * np.eye(2)
    elif kind == "rotate":
        angle = np.deg2rad(0.3 * t)
        linear = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    else:
        raise ValueError(f"unknown move {kind!r}: one of {MOVES}")
    return np.concatenate([linear, (centre - linear @ np.array([w / 2, h / 2]))[:, None]], 1)


def camera_move(photo: np.ndarray, kind: str, count: int, w: int, h: int) -> KnownClip:
    """``frame_t(x) = photo(A_t x + b_t)``; the flow from frame t to t-1 follows from the two maps."""
    ph, pw = photo.shape[:2]
    maps = [_move(kind, t, pw, ph, w, h) for t in range(count)]
    clip = KnownClip(kind, [cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                           borderMode=cv2.BORDER_REFLECT_101) for m in maps])
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)), -1)
    for t in range(1, count):
        in_photo = grid @ maps[t][:, :2].T + maps[t][:, 2]
        before = (in_photo - maps[t - 1][:, 2]) @ np.linalg.inv(maps[t - 1][:, :2]).T
        inside = (before[..., 0] >= 0) & (before[..., 0] <= w - 1) & (before[..., 1] >= 0) & (before[..., 1] <= h - 1)
        clip.flows.append((before - grid).astype(np.float32))
        clip.masks.append(inside.astype(np.float32))
    return clip


def moving_object(background: np.ndarray, texture: np.ndarray, count: int, w: int, h: int,
                  velocity: tuple[float, float] = (2.3, 0.9)) -> KnownClip:
    """A disc of ``texture`` crossing a still ``background``; the pixels it uncovers are known."""
    still = cv2.resize(background, (w, h), interpolation=cv2.INTER_AREA)
    radius = h / 4
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    frames, covers = [], []
    for t in range(count):
        cx, cy = w / 4 + velocity[0] * t, h / 2 + velocity[1] * t
        # texture(x - c) moves with the disc; antialiased edge one pixel wide
        shift = np.array([[1, 0, texture.shape[1] / 2 - cx], [0, 1, texture.shape[0] / 2 - cy]], np.float64)
        moved = cv2.warpAffine(texture, shift, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
        cover = np.clip(radius + 0.5 - np.hypot(xs - cx, ys - cy), 0, 1)[..., None]
        frames.append(np.rint(still * (1 - cover) + moved * cover).astype(np.uint8))
        covers.append(cover[..., 0])
    clip = KnownClip("object", frames)
    near = np.ones((5, 5), np.uint8)  # the edge and interpolation reach a couple of pixels
    for t in range(1, count):
        on, was = covers[t] > 0, covers[t - 1] > 0
        flow = np.zeros((h, w, 2), np.float32)
        flow[on] = (-velocity[0], -velocity[1])
        edge = cv2.dilate((on ^ (covers[t] >= 1)).astype(np.uint8), near) > 0
        uncovered = was & ~on
        clip.flows.append(flow)
        clip.masks.append((~edge & ~(cv2.dilate(uncovered.astype(np.uint8), near) > 0)).astype(np.float32))
        clip.uncovered.append(uncovered & ~edge)
    return clip


def still_shot(photo: np.ndarray, count: int, w: int, h: int, noise: float = 2.0, seed: int = 0) -> KnownClip:
    """One photo, with fresh Gaussian noise (``noise`` levels) in every frame: a tripod shot."""
    rng = np.random.default_rng(seed)
    still = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    frames = [np.clip(np.rint(still + rng.normal(0, noise, still.shape)), 0, 255).astype(np.uint8)
              for _ in range(count)]
    clip = KnownClip("still", frames)
    for _ in range(1, count):
        clip.flows.append(np.zeros((h, w, 2), np.float32))
        clip.masks.append(np.ones((h, w), np.float32))
    return clip
