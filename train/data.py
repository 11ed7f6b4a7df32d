"""Training photos: any folder of images, resized, randomly cropped and flipped.

Unreadable files are skipped with a warning instead of stopping a long run: a photo folder collected
by hand nearly always holds a stray text file or a broken download.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from nets.images import IMAGE_SUFFIXES, ImageReadError, open_rgb

log = logging.getLogger(__name__)


class EmptyFolderError(ValueError):
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


class PhotoDataset(Dataset):
    """Square crops of photos: shorter side resized to ``size``, random crop, random horizontal flip."""

    def __init__(self, paths: list[Path], size: int) -> None:
        self.paths = paths
        self.transform = transforms.Compose([
            transforms.Resize(size),
            transforms.RandomCrop(size),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
        ])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        # A file that passed the header check can still fail to decode; use its neighbour instead.
        for offset in range(len(self.paths)):
            path = self.paths[(index + offset) % len(self.paths)]
            try:
                return self.transform(open_rgb(path))
            except ImageReadError as exc:
                log.warning("skipping %s", exc)
        raise EmptyFolderError("no photo of the folder could be decoded")


def center_crops(paths: list[Path], size: int) -> torch.Tensor:
    """A fixed B×3×size×size batch (shorter side resized, centre crop): the photos shown in TensorBoard."""
    transform = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor()])
    return torch.stack([transform(open_rgb(path)) for path in paths])


def endless_batches(dataset: Dataset, batch_size: int, workers: int, seed: int) -> Iterator[torch.Tensor]:
    """Shuffled batches forever, reshuffled every epoch; the last incomplete batch is dropped."""
    generator = torch.Generator().manual_seed(seed)
    drop_last = len(dataset) >= batch_size
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=drop_last,
        num_workers=workers,
        generator=generator,
        persistent_workers=workers > 0,
    )
    while True:
        yield from loader
