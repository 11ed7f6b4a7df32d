"""The exact consistency terms: a painter should paint a photo moved by a pixel or two, or with fresh sensor
noise, as it painted the photo itself (moved the same way), since neither changes what the scene shows.

Why exact: the moves are drawn, not estimated, so the term asks nothing of an optical flow. Shared by the
trainer (against the paintings' style) and the distiller (against a teacher's pictures).
"""

from __future__ import annotations

import torch

from nets.warp import warp

#: The shift term's largest move (px) and the band it leaves out at the crop's edges, where the moved photo
#: shows pixels the photo did not (reflected): they may be painted differently.
MAX_SHIFT, SHIFT_MARGIN = 3.0, 16
#: The noise term's sensor noise, in [0, 1] units (2 levels of 255).
NOISE_SIGMA = 2 / 255


def moved(images: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """B×C×H×W images with their content moved by B×2 ``offsets`` (dx, dy) px, bilinearly: exact for whole
    pixels, and the same linear resampling for the photo and its painting in the shift term."""
    flow = -offsets.to(images.dtype)[:, :, None, None].expand(-1, -1, *images.shape[-2:])
    return warp(images, flow)


def random_offsets(count: int, generator: torch.Generator) -> torch.Tensor:
    """count×2 moves in [-MAX_SHIFT, MAX_SHIFT] px: every other one rounded to whole pixels (a camera's pan moves
    the painting's grid by whole pixels as often as not; a zoom or a turn, by fractions)."""
    offsets = (torch.rand(count, 2, generator=generator, device=generator.device) * 2 - 1) * MAX_SHIFT
    whole = (torch.arange(count, device=offsets.device) % 2 == 0)[:, None]
    return torch.where(whole, offsets.round(), offsets)


def shift_distance(painted_moved: torch.Tensor, painted: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Mean |paint(photo moved) − paint(photo) moved| away from the crop's edges (the shift term, unweighted)."""
    inner = (..., slice(SHIFT_MARGIN, -SHIFT_MARGIN), slice(SHIFT_MARGIN, -SHIFT_MARGIN))
    return (painted_moved - moved(painted, offsets))[inner].abs().mean()
