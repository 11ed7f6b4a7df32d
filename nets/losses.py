"""Perceptual losses, each normalised by the magnitude of its target.

Dividing the Gram matrix by C·H·W and every term by the size of its target makes a loss of 1.0 mean
"as far from the target as the target is from zero", whichever VGG weights computed the features
(the Caffe weights in ../shared and torchvision's differ in feature scale). So default weights carry
over between weight sets, image sizes and layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from nets.vgg import VGGFeatures
from nets.warp import luminance, warp

#: Johnson et al. (2016): style on these VGG16 layers, content on relu2_2.
JOHNSON_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
JOHNSON_CONTENT_LAYERS = ("relu2_2",)
_EPS = 1e-8


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations of B×C×H×W features, divided by C·H·W (so independent of size)."""
    b, c, h, w = features.shape
    with torch.autocast(features.device.type, enabled=False):  # sums of H·W products need fp32
        flat = features.reshape(b, c, h * w).float()
        return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image squared feature distance relative to the target's energy; shape (B,)."""
    diff = (features.float() - target.float()).pow(2).flatten(1).mean(1)
    return diff / (target.float().pow(2).flatten(1).mean(1) + _EPS)


def style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Per-image squared Gram distance relative to the target Gram's energy; shape (B,)."""
    diff = (gram_matrix(features) - target_gram).pow(2).flatten(1).sum(1)
    return diff / (target_gram.pow(2).flatten(1).sum(1) + _EPS)


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels; shape (B,). Penalises speckle noise."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1).mean(1)
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1).mean(1)
    return dx + dy


def temporal_loss(
    output: torch.Tensor,
    previous_output: torch.Tensor,
    frame: torch.Tensor,
    previous_frame: torch.Tensor,
    flow: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Luminance-aware output temporal loss of ReCoNet (Gao et al. 2018); shape (B,).

    Each RGB channel of the output's change between two frames (the previous one warped into place)
    should equal the change of the input's Rec. 709 luminance: ‖(O_t − W(O_t−1))_c − ΔY(I)‖², averaged
    over channels and over the pixels ``mask`` trusts. So a lighting change may brighten the output,
    but its colours may not flicker: comparing luminance with luminance would leave chroma free, and a
    painter's coloured strokes then flicker unchecked. ``flow`` runs from frame t into frame t−1.
    """
    out_change = output - warp(previous_output, flow)
    in_change = luminance(frame) - luminance(warp(previous_frame, flow))
    squared = (out_change - in_change).pow(2).mean(1, keepdim=True) * mask
    return squared.flatten(1).sum(1) / mask.flatten(1).sum(1).clamp(min=1.0)


class Distances(NamedTuple):
    """Content and style distance, per image."""

    content: torch.Tensor
    style: torch.Tensor


class PerceptualLoss(nn.Module):
    """Content and style distances of images against their content images and one or more style images.

    The style images' Gram matrices are computed once and kept as buffers, one row per style (a painter
    family has several). Both terms are per image (shape (B,)) and averaged over the chosen layers, so
    they double as evaluation metrics; ``styles`` says which style each image is measured against.
    """

    def __init__(
        self,
        vgg: VGGFeatures,
        style_images: torch.Tensor | Sequence[torch.Tensor],
        content_layers: Sequence[str] = JOHNSON_CONTENT_LAYERS,
        style_layers: Sequence[str] = JOHNSON_STYLE_LAYERS,
    ) -> None:
        super().__init__()
        missing = (set(content_layers) | set(style_layers)) - set(vgg.layers)
        if missing:
            raise ValueError(f"the VGG extractor does not return {', '.join(sorted(missing))}")
        self.vgg = vgg
        self.content_layers = tuple(content_layers)
        self.style_layers = tuple(style_layers)
        images = [style_images] if isinstance(style_images, torch.Tensor) else list(style_images)
        with torch.no_grad():  # one at a time: the style images may differ in size
            grams = [{n: gram_matrix(f) for n, f in vgg(image, self.style_layers).items()} for image in images]
        for name in self.style_layers:
            self.register_buffer(f"gram_{name}", torch.cat([g[name] for g in grams]))

    @property
    def styles(self) -> int:
        return len(self.target_gram(self.style_layers[0]))

    def target_gram(self, layer: str) -> torch.Tensor:
        """S×C×C: one Gram matrix per style image."""
        return getattr(self, f"gram_{layer}")

    def forward(self, images: torch.Tensor, contents: torch.Tensor, styles: torch.Tensor | None = None
                ) -> Distances:
        """Content and style distance per image, for images stylised from ``contents``."""
        with torch.no_grad():
            target = self.vgg(contents, self.content_layers)
        return self.distances(self.vgg(images), target, styles)

    def distances(self, features: dict[str, torch.Tensor], content_features: dict[str, torch.Tensor],
                  styles: torch.Tensor | None = None) -> Distances:
        """Content and style distance from VGG features; lets an optimiser reuse fixed targets.

        ``styles``: the index of each image's style image (B,); ``None`` means the first for all.
        """
        def target(layer: str) -> torch.Tensor:
            grams = self.target_gram(layer)
            return grams[:1] if styles is None else grams[styles]

        content = torch.stack([content_loss(features[n], content_features[n]) for n in self.content_layers]).mean(0)
        style = torch.stack([style_loss(features[n], target(n)) for n in self.style_layers]).mean(0)
        return Distances(content, style)
