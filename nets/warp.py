"""Backward warping by optical flow, occlusion masks and luminance: the pieces of the temporal loss.

Convention everywhere: a flow ``f`` lives on the grid of the frame being explained and points into
the other frame, in pixels, channels (dx, dy): ``current(x) ≈ previous(x + f(x))``. So
``warp(previous, f)`` lines the previous frame up with the current one.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nets.flow import flow_pair

#: Rec. 709 luma weights: the temporal loss compares brightness, where flicker shows most.
REC709 = (0.2126, 0.7152, 0.0722)


def flow_to_tensor(flow: np.ndarray) -> torch.Tensor:
    """H×W×2 numpy flow (OpenCV's layout) -> 1×2×H×W float tensor."""
    return torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32)).permute(2, 0, 1)[None]


def pixel_grid(h: int, w: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32
               ) -> torch.Tensor:
    """H×W×2 pixel coordinates (x, y) of every pixel: the points a zero flow samples."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype),
                            indexing="ij")
    return torch.stack([xs, ys], dim=-1)


def _sample_points(flow: torch.Tensor) -> torch.Tensor:
    """x + f(x) for every pixel x, as B×H×W×2 pixel coordinates."""
    _, _, h, w = flow.shape
    return pixel_grid(h, w, flow.device, flow.dtype)[None] + flow.permute(0, 2, 3, 1)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` (B×C×H×W) at x + flow(x), bilinearly; points outside repeat the border."""
    _, _, h, w = image.shape
    points = _sample_points(flow.to(image.dtype))
    scale = torch.tensor([2 / max(w - 1, 1), 2 / max(h - 1, 1)], device=image.device, dtype=image.dtype)
    return F.grid_sample(image, points * scale - 1, mode="bilinear", padding_mode="border", align_corners=True)


def in_frame(flow: torch.Tensor) -> torch.Tensor:
    """B×1×H×W mask, 1 where x + flow(x) lands inside the other frame."""
    _, _, h, w = flow.shape
    points = _sample_points(flow)
    inside = (points[..., 0] >= 0) & (points[..., 0] <= w - 1) & (points[..., 1] >= 0) & (points[..., 1] <= h - 1)
    return inside[:, None].to(flow.dtype)


def occlusion_mask(backward: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """B×1×H×W mask, 1 where ``backward`` (current -> previous) can be trusted, after Ruder et al. 2016.

    A pixel is dropped when following the backward flow and then the forward flow (previous -> current)
    does not come back to it (disocclusion), at motion boundaries, and where it leaves the frame.
    """
    forward_there = warp(forward, backward)
    round_trip = (forward_there + backward).pow(2).sum(1, keepdim=True)
    magnitudes = forward_there.pow(2).sum(1, keepdim=True) + backward.pow(2).sum(1, keepdim=True)
    disoccluded = round_trip > 0.01 * magnitudes + 0.5

    dx = F.pad(backward[..., :, 1:] - backward[..., :, :-1], (0, 1, 0, 0))
    dy = F.pad(backward[..., 1:, :] - backward[..., :-1, :], (0, 0, 0, 1))
    gradient = dx.pow(2).sum(1, keepdim=True) + dy.pow(2).sum(1, keepdim=True)
    boundary = gradient > 0.01 * backward.pow(2).sum(1, keepdim=True) + 0.002
    return (~disoccluded & ~boundary).to(backward.dtype) * in_frame(backward)


def trusted_flow(previous: np.ndarray, current: np.ndarray, device: torch.device | str = "cpu"
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(1×2×H×W flow current -> previous, 1×1×H×W mask where it can be trusted) of two H×W×3 uint8 frames.

    What every user of flow needs: warping the previous frame's result into place, and knowing where not to.
    """
    backward, forward = flow_pair(previous, current)
    flow = flow_to_tensor(backward).to(device)
    return flow, occlusion_mask(flow, flow_to_tensor(forward).to(device))


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """B×3×H×W RGB -> B×1×H×W Rec. 709 luma."""
    weights = torch.tensor(REC709, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb * weights).sum(1, keepdim=True)
