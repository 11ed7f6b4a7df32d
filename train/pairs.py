"""Frame pairs for the temporal loss, made in batches on the training device.

A batch of pairs is a tuple (current, previous, flow current->previous, trusted-pixel mask), float
B×3×S×S, B×3×S×S, B×2×S×S, B×1×S×S. Two sources, mixed slot by slot:
- synthetic pairs: a photo crop and the same crop under a known camera-like motion (zoom, rotation,
  translation and a smooth local deformation) with a small brightness change and noise. Both frames are
  sampled from the crop, so the flow is exact and no video data set is needed.
- ``ClipPairs``: consecutive frames of real clips (video files or folders of frames), with DIS flow on
  the frames and a forward-backward occlusion mask, computed once, cached on disk and kept on the device.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from nets.images import CLIP_SUFFIXES, IMAGE_SUFFIXES, read_clip
from nets.warp import in_frame, pixel_grid, trusted_flow
from train.data import EmptyFolderError, shorter_side

log = logging.getLogger(__name__)
Pairs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
#: Synthetic frames show the middle 1/ZOOM of their source crop: room for the motion to bring in new pixels.
ZOOM = 1.3


def random_flows(count: int, size: int, generator: torch.Generator, max_shift: float = 6.0,
                 max_degrees: float = 3.0, max_zoom: float = 0.05, deform: float = 2.0) -> torch.Tensor:
    """count×2×size×size camera-like motion fields in pixels: affine about the centre + smooth deformation.

    Drawn on ``generator``'s device.
    """
    device = generator.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return (low + (high - low) * torch.rand(count, generator=generator, device=device)).view(count, 1, 1)

    angle = uniform(-math.radians(max_degrees), math.radians(max_degrees))
    zoom = 1 + uniform(-max_zoom, max_zoom)
    shift_x, shift_y = uniform(-max_shift, max_shift), uniform(-max_shift, max_shift)
    centred = pixel_grid(size, size, device) - (size - 1) / 2
    x, y = centred[..., 0], centred[..., 1]
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    affine = torch.stack([cos * x - sin * y - x + shift_x, sin * x + cos * y - y + shift_y], dim=1)
    coarse = torch.randn(count, 2, 4, 4, generator=generator, device=device) * deform
    return affine + F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)


def synthetic_pairs(crops: torch.Tensor, generator: torch.Generator, photometric: bool = True) -> Pairs:
    """Pairs from B×3×S×S float crops: both frames show the middle 1/ZOOM of a crop, scaled to S×S.

    The previous frame samples the crop at u(x), the current one at u(x + flow(x)), so
    ``warp(previous, flow)`` reproduces the current frame wherever x + flow(x) stays in the frame (the mask).
    """
    count, _, size, _ = crops.shape
    flow = random_flows(count, size, generator)
    grid = pixel_grid(size, size, crops.device)[None]  # 1×S×S×2 frame coordinates

    def sample(points: torch.Tensor) -> torch.Tensor:
        source = (points - (size - 1) / 2) / ZOOM + (size - 1) / 2  # frame -> crop coordinates
        return F.grid_sample(crops, source * (2 / (size - 1)) - 1, mode="bilinear", padding_mode="border",
                             align_corners=True)

    previous = sample(grid.expand(count, -1, -1, -1))
    current = sample(grid + flow.permute(0, 2, 3, 1))
    if photometric:
        gain = 1 + (torch.rand(count, 1, 1, 1, generator=generator, device=crops.device) - 0.5) * 0.1
        noise = torch.randn(current.shape, generator=generator, device=crops.device) * 0.01
        current = (current * gain + noise).clamp(0, 1)
    return current, previous, flow, in_frame(flow)


def _square(frame: np.ndarray, size: int) -> np.ndarray:
    """Shorter side resized to ``size``, centre crop: the training view of a clip frame."""
    img = shorter_side(Image.fromarray(frame), size)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)))


def find_clips(root: str | os.PathLike) -> list[Path]:
    """A video file, or every video file and every folder of ≥ 2 frames under a folder."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise EmptyFolderError(f"clip folder not found: {root}")
    clips = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES]
    clips += [d for d in [root, *sorted(root.rglob("*"))] if d.is_dir()
              and sum(p.suffix.lower() in IMAGE_SUFFIXES for p in d.iterdir()) >= 2]
    if not clips:
        raise EmptyFolderError(f"no video files or frame folders in {root}")
    return clips


class ClipPairs:
    """Consecutive frames of real clips with DIS flow and occlusion mask, cached as one .npz per pair.

    ``to(device)`` loads them all into tensors there, so that ``sample`` draws batches on the device.
    """

    def __init__(self, root: str | os.PathLike, size: int, cache_dir: str | os.PathLike) -> None:
        self.items: list[Path] = []
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        for clip in find_clips(root):
            stat = clip.stat()
            key = hashlib.sha1(f"{clip.resolve()}|{stat.st_mtime_ns}|{size}".encode()).hexdigest()[:16]
            folder = cache / f"{clip.stem}-{key}"
            done = folder / "complete"
            if not done.exists():
                self._compute(clip, size, folder)
                done.touch()
            self.items += sorted(folder.glob("pair_*.npz"))
        if not self.items:
            raise EmptyFolderError(f"no clip in {root} has two frames")
        self.tensors: Pairs | None = None

    @staticmethod
    def _compute(clip: Path, size: int, folder: Path) -> None:
        frames = [_square(f, size) for f in read_clip(clip)]
        log.info("computing optical flow for %s (%d frames, cached in %s)", clip, len(frames), folder)
        folder.mkdir(parents=True, exist_ok=True)
        for t in range(1, len(frames)):
            flow, mask = trusted_flow(frames[t - 1], frames[t])
            np.savez(folder / f"pair_{t:05d}.npz", current=frames[t], previous=frames[t - 1],
                     flow=flow[0].permute(1, 2, 0).numpy().astype(np.float16),
                     mask=mask[0, 0].numpy().astype(np.uint8))

    def __len__(self) -> int:
        return len(self.items)

    def to(self, device: torch.device) -> ClipPairs:
        """Load every pair onto ``device``: frames as uint8, flow as fp16, mask as uint8 (a 256 px pair: 0.7 MB)."""
        data = [np.load(item) for item in self.items]
        frames = {k: torch.from_numpy(np.stack([d[k] for d in data])).permute(0, 3, 1, 2).to(device)
                  for k in ("current", "previous")}
        flow = torch.from_numpy(np.stack([d["flow"] for d in data])).permute(0, 3, 1, 2).to(device)
        mask = torch.from_numpy(np.stack([d["mask"] for d in data]))[:, None].to(device)
        self.tensors = (frames["current"], frames["previous"], flow, mask)
        return self

    def sample(self, count: int, generator: torch.Generator) -> Pairs:
        """``count`` random pairs as float tensors on the device given to ``to``."""
        if self.tensors is None:
            raise RuntimeError("ClipPairs.sample before ClipPairs.to(device)")
        current, previous, flow, mask = self.tensors
        pick = torch.randint(len(current), (count,), generator=generator, device=generator.device).to(current.device)
        return current[pick].float() / 255, previous[pick].float() / 255, flow[pick].float(), mask[pick].float()


def mixed_pairs(synthetic: Pairs, real: Pairs, real_share: float, generator: torch.Generator) -> Pairs:
    """Each slot from ``real`` with probability ``real_share``, else from ``synthetic``: one batch, no host sync."""
    count = synthetic[0].shape[0]
    use_real = torch.rand(count, generator=generator, device=generator.device) < real_share
    use_real = use_real.to(synthetic[0].device).view(count, 1, 1, 1)
    return tuple(torch.where(use_real, r, s) for s, r in zip(synthetic, real, strict=True))  # type: ignore[return-value]
