"""Training photos: decoded once into a bank of uint8 pixels on the training device, cropped there.

A step's batch is one gather from the bank (random photo, random square crop, random horizontal flip),
made on the device with the device's random generator: no decoding, no host-to-device copy and no host
synchronisation per step, so a fast GPU is never waiting for the CPU. 504 photos at a shorter side of
256 px are 130 MB. A bank larger than a quarter of the GPU's free memory stays in host memory instead
(crops are then copied over, 6 MB for a batch of 32 at 256 px).

Unreadable files are skipped with a warning instead of stopping a long run: a photo folder collected
by hand nearly always holds a stray text file or a broken download.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nets.errors import UserError
from nets.images import IMAGE_SUFFIXES, ImageReadError, open_rgb

log = logging.getLogger(__name__)


class EmptyFolderError(UserError):
    """A photo folder holds no readable image."""


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Readable images under ``folder`` (recursive, sorted); image-named files that fail are warned about."""
    root = Path(folder)
    if not root.is_dir():
        raise EmptyFolderError(f"photo folder not found: {root}")
    found = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
        try:
            with Image.open(path) as img:
                img.verify()
        except Exception as exc:
            log.warning("skipping unreadable image %s (%s)", path, exc.__class__.__name__)
            continue
        found.append(path)
    if not found:
        raise EmptyFolderError(f"no readable images in {root}")
    return found


def shorter_side(img: Image.Image, side: int) -> Image.Image:
    """Scaled (bicubic, antialiased) so that the shorter side is ``side`` px."""
    scale = side / min(img.size)
    size = (max(side, round(img.width * scale)), max(side, round(img.height * scale)))
    return img if size == img.size else img.resize(size, Image.Resampling.BICUBIC)


def _decode(path: Path, side: int) -> np.ndarray | None:
    try:
        return np.asarray(shorter_side(open_rgb(path), side)).transpose(2, 0, 1)  # 3×H×W
    except ImageReadError as exc:  # passed the header check, failed to decode: skip it too
        log.warning("skipping %s", exc)
        return None


class PhotoBank:
    """Every photo at a shorter side of ``size`` px, as uint8 in one flat tensor, with random square crops.

    ``device`` is where crops are wanted; the pixels live there too unless they would take more than a
    quarter of its free memory.
    """

    def __init__(self, paths: list[Path], size: int, device: torch.device, workers: int = 4) -> None:
        with ThreadPoolExecutor(max(1, workers)) as pool:  # PIL decodes with the GIL released
            photos = [p for p in pool.map(lambda path: _decode(path, size), paths) if p is not None]
        if not photos:
            raise EmptyFolderError("no photo of the folder could be decoded")
        self.size = size
        self.device = device
        heights = torch.tensor([p.shape[1] for p in photos])
        widths = torch.tensor([p.shape[2] for p in photos])
        sizes = 3 * heights * widths
        total = int(sizes.sum())
        self.storage = device
        if device.type == "cuda" and total > torch.cuda.mem_get_info(device)[0] // 4:
            self.storage = torch.device("cpu")
        pixels = torch.from_numpy(np.concatenate([p.reshape(-1) for p in photos]))
        self.pixels = pixels.to(self.storage)
        self.offsets = (torch.cumsum(sizes, 0) - sizes).to(self.storage)
        self.heights, self.widths = heights.to(self.storage), widths.to(self.storage)
        log.info("%d photos at %d px in a %.0f MB bank on %s", len(photos), size, total / 1e6, self.storage)

    def __len__(self) -> int:
        return len(self.heights)

    def crops(self, count: int, generator: torch.Generator, part: slice | None = None) -> torch.Tensor:
        """``count``×3×size×size uint8 random crops (random photos, positions and horizontal flips).

        ``generator`` lives on the bank's storage device (see ``generator_for``). ``part``: only these
        of the ``count`` crops drawn are cut out (a process's share of a batch; the draws stay the same).
        """
        g = dict(generator=generator, device=self.storage)
        photo = torch.randint(len(self), (count,), **g)
        h, w = self.heights[photo], self.widths[photo]
        top = (torch.rand(count, **g) * (h - self.size + 1)).long()
        left = (torch.rand(count, **g) * (w - self.size + 1)).long()
        flip = torch.rand(count, **g) < 0.5
        if part is not None:
            photo, h, w, top, left, flip = (x[part] for x in (photo, h, w, top, left, flip))
            count = len(photo)
        steps = torch.arange(self.size, device=self.storage)
        rows = top[:, None] + steps  # count×S
        cols = left[:, None] + torch.where(flip[:, None], self.size - 1 - steps, steps)
        channel = torch.arange(3, device=self.storage)[None, :, None, None] * (h * w)[:, None, None, None]
        index = (self.offsets[photo][:, None, None, None] + channel + rows[:, None, :, None] * w[:, None, None, None]
                 + cols[:, None, None, :])
        return self.pixels[index].to(self.device, non_blocking=True)

    def generator_for(self, seed: int) -> torch.Generator:
        """A random generator on the storage device: crops are drawn there without a host round trip."""
        return torch.Generator(self.storage).manual_seed(seed)


def center_crops(paths: list[Path], size: int, count: int) -> torch.Tensor:
    """A fixed batch of up to ``count`` float centre crops (shorter side resized) of the first photos that
    decode: the photos shown in TensorBoard."""
    crops = []
    for path in paths:
        array = _decode(path, size)
        if array is not None:
            top, left = (array.shape[1] - size) // 2, (array.shape[2] - size) // 2
            crops.append(torch.from_numpy(array[:, top:top + size, left:left + size].copy()))
        if len(crops) == count:
            break
    return torch.stack(crops).float() / 255
