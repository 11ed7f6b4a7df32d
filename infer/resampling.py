"""The stabiliser's resampling and blurring (``infer.steady``), on the host with OpenCV or on the engine's
GPU with torch, giving the same pixels.

Why both: on a CPU, OpenCV's remap and separable filters are the fastest there is (the whole stabiliser
takes 0.14 s a 1080p frame on 2 cores); beside a GPU engine the same work on the host would hold a render
near 7 frames/s, while in torch on the device it takes milliseconds.

The torch versions follow OpenCV's definitions, so the two agree within float rounding (tests/test_steady.py):
Lanczos-4 weights at sub-pixel positions rounded to 1/32 px (OpenCV's INTER_TAB_SIZE) and bicubic ones
(A = −0.75) at exact positions, with replicated borders for warps; reflected borders (BORDER_REFLECT_101) for filters;
Gaussian kernels of the size OpenCV gives float images.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

#: OpenCV's sub-pixel steps per pixel for remap (INTER_TAB_SIZE): positions are rounded to 1/32 px.
TABLE = 32


def lanczos4(fraction: torch.Tensor) -> torch.Tensor:
    """The 8 Lanczos-4 weights (..., 8) for sub-pixel positions ``fraction`` in [0, 1): tap j reads the pixel
    j - 3 places from the one the position falls in (OpenCV's interpolateLanczos4)."""
    distance = fraction.double()[..., None] + 3 - torch.arange(8, dtype=torch.float64, device=fraction.device)
    weights = torch.sinc(distance) * torch.sinc(distance / 4)
    return (weights / weights.sum(-1, keepdim=True)).float()


def shift_taps(fraction: float, device: torch.device | None = None) -> torch.Tensor:
    """The 8 Lanczos-4 weights that move a row by ``fraction`` (0 ≤ fraction < 1) of a pixel: tap j reads
    the pixel 4 - j places to the left (a correlation anchored at 4)."""
    return lanczos4(torch.tensor(fraction, device=device)).flip(-1)


def cubic(fraction: torch.Tensor) -> torch.Tensor:
    """The 4 bicubic weights (..., 4) with A = −0.75 (OpenCV's interpolateCubic): taps j - 1 for j = 0…3."""
    a, x = -0.75, fraction.double()[..., None]
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a)
    nearer = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1
    return torch.cat([far, near, nearer, 1 - far - near - nearer], -1).float()


def _reflected(n: int, start: int, stop: int, device: torch.device) -> torch.Tensor:
    """Indices start … stop - 1 folded into [0, n) as BORDER_REFLECT_101 folds them (any distance out)."""
    index = torch.arange(start, stop, device=device)
    if n == 1:
        return torch.zeros_like(index)
    period = 2 * (n - 1)
    index = index.remainder(period)
    return torch.where(index >= n, period - index, index)


def _correlate(image: torch.Tensor, taps: torch.Tensor, anchor: int, axis: int) -> torch.Tensor:
    """out(i) = Σ_j taps[j] · image(i + j - anchor) along ``axis`` (0: rows, 1: columns), borders reflected."""
    n = image.shape[axis]
    padded = image.index_select(axis, _reflected(n, -anchor, n + len(taps) - 1 - anchor, image.device))
    return sum(taps[j] * padded.narrow(axis, j, n) for j in range(len(taps)))


def _gaussian_taps(sigma: float, device: torch.device) -> torch.Tensor:
    """OpenCV's Gaussian kernel for a float image: ksize = round(8σ + 1), made odd."""
    size = round(sigma * 8 + 1) | 1
    x = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    taps = torch.exp(-x * x / (2 * sigma * sigma))
    return (taps / taps.sum()).float()


def blur_torch(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """cv2.GaussianBlur(image, (0, 0), sigma) of an H×W or H×W×C float tensor."""
    taps = _gaussian_taps(sigma, image.device)
    return _correlate(_correlate(image, taps, len(taps) // 2, 0), taps, len(taps) // 2, 1)


def shift_torch(image: torch.Tensor, by: tuple[float, float]) -> torch.Tensor:
    """``shift_frame`` in torch: out(x) = image(x - by), a Lanczos filter for the fraction of a pixel, then
    the whole pixels, with the edge this uncovers reflected."""
    whole = [math.floor(b) for b in by]
    out = image
    for axis, (amount, step) in enumerate(zip((by[1], by[0]), (whole[1], whole[0]), strict=True)):
        out = _correlate(out, shift_taps(amount - step, image.device), 4, axis)
        n = out.shape[axis]
        out = out.index_select(axis, _reflected(n, -step, n - step, image.device))
    return out


def remap_torch(image: torch.Tensor, flow: torch.Tensor, sharp: bool = True) -> torch.Tensor:
    """``remap`` in torch: an H×W×C float ``image`` sampled at x + flow(x) (Lanczos-4 where it must stay
    ``sharp``, its positions rounded to 1/32 px; else bicubic), borders replicated, as OpenCV 4 does."""
    h, w = flow.shape[:2]
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=torch.float32),
                            torch.arange(w, device=flow.device, dtype=torch.float32), indexing="ij")
    weights, before = (lanczos4, 3) if sharp else (cubic, 1)
    parts = []
    for axis_flow, base in ((flow[..., 0], xs), (flow[..., 1], ys)):
        position = base + axis_flow
        if sharp:  # OpenCV rounds Lanczos positions to its table's steps; bicubic ones it takes as they are
            position = torch.round(position * TABLE) / TABLE
        whole = torch.floor(position)
        parts.append((whole.long() - before, weights(position - whole)))
    (left, wx), (top, wy) = parts
    flat = image.reshape(-1, *image.shape[2:])
    taps = wx.shape[-1]
    out = torch.zeros((h, w, *image.shape[2:]), dtype=image.dtype, device=image.device)
    trailing = (None,) * (image.dim() - 2)
    for a in range(taps):
        row = (top + a).clamp(0, image.shape[0] - 1) * image.shape[1]
        across = torch.zeros_like(out)
        for b in range(taps):
            across += wx[..., b][(..., *trailing)] * flat[row + (left + b).clamp(0, image.shape[1] - 1)]
        out += wy[..., a][(..., *trailing)] * across
    return out


def remap(image: np.ndarray, flow: np.ndarray, sharp: bool = True) -> np.ndarray:
    """``image`` sampled at x + flow(x): Lanczos where it must stay ``sharp`` (a blend warps its result
    every frame, and a bilinear or cubic warp blurs it a little more each time), else cubic."""
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LANCZOS4 if sharp else cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REPLICATE)


def shift_frame(image: np.ndarray, by: np.ndarray) -> np.ndarray:
    """``out(x) = image(x - by)`` (|by| < 4 px), the same size: a Lanczos filter for the fraction of a pixel
    (one separable pass, ten times cheaper than a general warp; exact for whole pixels), then the whole
    pixels, with the edge this uncovers reflected."""
    whole = np.floor(by).astype(int)
    taps = [shift_taps(float(b - s)).numpy() for b, s in zip(by, whole, strict=True)]
    moved = cv2.sepFilter2D(image, -1, taps[0], taps[1], anchor=(4, 4), borderType=cv2.BORDER_REFLECT_101)
    h, w = image.shape[:2]
    pads = [max(0, whole[1]), max(0, -whole[1]), max(0, whole[0]), max(0, -whole[0])]  # top, bottom, left, right
    if any(pads):
        moved = cv2.copyMakeBorder(moved, *pads, cv2.BORDER_REFLECT_101)
    x0, y0 = pads[2] - whole[0], pads[0] - whole[1]
    return np.ascontiguousarray(moved[y0:y0 + h, x0:x0 + w])


class Resampler:
    """The stabiliser's image operations on float32 tensors, where its arithmetic runs: ``device`` None is the
    host, with OpenCV on the tensors' memory (no copy); a torch device (the engine's GPU) runs them there."""

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """A host array as float32 where the arithmetic runs."""
        values = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        return values if self.device is None else values.to(self.device)

    def remap(self, image: torch.Tensor, flow: torch.Tensor, sharp: bool = True) -> torch.Tensor:
        if self.device is None:
            return torch.from_numpy(remap(image.numpy(), flow.numpy(), sharp))
        return remap_torch(image, flow, sharp)

    def shift(self, image: torch.Tensor, by: np.ndarray) -> torch.Tensor:
        if self.device is None:
            return torch.from_numpy(shift_frame(image.numpy(), by))
        return shift_torch(image, (float(by[0]), float(by[1])))

    def blur(self, image: torch.Tensor, sigma: float) -> torch.Tensor:
        if self.device is None:
            return torch.from_numpy(cv2.GaussianBlur(image.numpy(), (0, 0), sigma))
        return blur_torch(image, sigma)
