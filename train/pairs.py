"""Frame pairs for the temporal loss: (current, previous, flow current->previous, trusted-pixel mask).

Two sources, mixed by concatenation:
- ``SyntheticPairs``: a still photo and the same photo under a known motion (zoom, rotation,
  translation and a smooth local deformation) with a small brightness change and noise. Both frames are
  sampled from the photo itself, so the flow is exact and no video data set is needed.
- ``ClipPairs``: consecutive frames of real clips (video files or folders of frames), with DIS flow on
  the frames and a forward-backward occlusion mask, computed once and cached on disk.
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
from torch.utils.data import Dataset

from nets.flow import flow_pair
from nets.images import IMAGE_SUFFIXES, open_rgb, read_clip, to_tensor
from nets.warp import flow_to_tensor, in_frame, occlusion_mask, pixel_grid
from train.data import EmptyFolderError

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm"}
Pair = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def random_flow(size: int, generator: torch.Generator | None = None, max_shift: float = 6.0, max_degrees: float = 3.0,
                max_zoom: float = 0.05, deform: float = 2.0) -> torch.Tensor:
    """A 2×size×size camera-like motion field in pixels: affine about the centre + smooth deformation."""
    def uniform(low: float, high: float) -> float:
        return low + (high - low) * torch.rand((), generator=generator).item()

    angle = math.radians(uniform(-max_degrees, max_degrees))
    zoom = 1 + uniform(-max_zoom, max_zoom)
    shift = torch.tensor([uniform(-max_shift, max_shift), uniform(-max_shift, max_shift)]).view(2, 1, 1)
    centred = pixel_grid(size, size) - (size - 1) / 2
    x, y = centred[..., 0], centred[..., 1]
    cos, sin = math.cos(angle) * zoom, math.sin(angle) * zoom
    affine = torch.stack([cos * x - sin * y - x, sin * x + cos * y - y]) + shift
    coarse = torch.randn(1, 2, 4, 4, generator=generator) * deform
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[0]
    return affine + smooth


def synthetic_pair(photo: torch.Tensor, size: int, generator: torch.Generator | None = None,
                   photometric: bool = True) -> Pair:
    """(current, previous, flow, mask) from one 3×H×W photo whose shorter side is at least 1.3·size.

    The previous frame is a plain crop; the current frame samples the photo at x + flow(x) of that crop,
    so ``warp(previous, flow)`` reproduces it wherever x + flow(x) stays inside the crop (the mask).
    """
    _, h, w = photo.shape
    top = int(torch.randint(0, h - size + 1, (), generator=generator))
    left = int(torch.randint(0, w - size + 1, (), generator=generator))
    previous = photo[:, top:top + size, left:left + size]
    flow = random_flow(size, generator)
    points = pixel_grid(size, size) + torch.tensor([left, top]) + flow.permute(1, 2, 0)
    scale = torch.tensor([2 / (w - 1), 2 / (h - 1)])
    current = F.grid_sample(photo[None], (points * scale - 1)[None], mode="bilinear", padding_mode="border",
                            align_corners=True)[0]
    if photometric:
        gain = 1 + (torch.rand((), generator=generator).item() - 0.5) * 0.1
        noise = torch.randn(current.shape, generator=generator) * 0.01
        current = (current * gain + noise).clamp(0, 1)
    return current, previous, flow, in_frame(flow[None])[0]


class SyntheticPairs(Dataset):
    """One synthetic pair per photo of a folder, new motion every time it is drawn."""

    def __init__(self, paths: list[Path], size: int) -> None:
        self.paths = paths
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Pair:
        # torch's global generator: seeded by the trainer, and per worker by the DataLoader.
        photo = to_tensor(shorter_side(open_rgb(self.paths[index]), math.ceil(self.size * 1.3)))[0]
        return synthetic_pair(photo, self.size)


def shorter_side(img: Image.Image, side: int) -> Image.Image:
    scale = side / min(img.size)
    return img.resize((max(side, round(img.width * scale)), max(side, round(img.height * scale))),
                      Image.Resampling.BICUBIC)


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
    clips = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    clips += [d for d in [root, *sorted(root.rglob("*"))] if d.is_dir()
              and sum(p.suffix.lower() in IMAGE_SUFFIXES for p in d.iterdir()) >= 2]
    if not clips:
        raise EmptyFolderError(f"no video files or frame folders in {root}")
    return clips


class ClipPairs(Dataset):
    """Consecutive frames of real clips with DIS flow and occlusion mask, cached as one .npz per pair."""

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

    @staticmethod
    def _compute(clip: Path, size: int, folder: Path) -> None:
        frames = [_square(f, size) for f in read_clip(clip)]
        log.info("computing optical flow for %s (%d frames, cached in %s)", clip, len(frames), folder)
        folder.mkdir(parents=True, exist_ok=True)
        for t in range(1, len(frames)):
            backward, forward = flow_pair(frames[t - 1], frames[t])
            mask = occlusion_mask(flow_to_tensor(backward), flow_to_tensor(forward))[0, 0].numpy()
            np.savez(folder / f"pair_{t:05d}.npz", current=frames[t], previous=frames[t - 1],
                     flow=backward.astype(np.float16), mask=mask.astype(np.uint8))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Pair:
        data = np.load(self.items[index])
        flow = flow_to_tensor(data["flow"])[0]
        mask = torch.from_numpy(data["mask"].astype(np.float32))[None]
        return to_tensor(data["current"])[0], to_tensor(data["previous"])[0], flow, mask
