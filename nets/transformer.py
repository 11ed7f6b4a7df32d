"""The feed-forward style network of Johnson et al. (2016), with the fixes that later work found.

Reflection padding instead of zero padding (zero padding darkens the borders), instance normalisation
with affine parameters instead of batch norm (Ulyanov et al. 2016: the style of a frame must not depend
on the other frames of the batch), and nearest-neighbour upsampling followed by a convolution instead of
transposed convolutions (Odena et al. 2016: those leave checkerboard artefacts).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Spatial sizes must be a multiple of this inside the network (two stride-2 stages).
SIZE_MULTIPLE = 4
#: The smallest side the network accepts: the residual blocks reflect-pad a 1/4-size map by 1.
MIN_SIDE = 8


class ConvLayer(nn.Sequential):
    """Reflection pad + convolution + (optional) instance norm and ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm_act: bool = True) -> None:
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm_act:
            layers += [nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with a skip connection; the second has no ReLU (Gross & Wilber 2016)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Sequential):
    """Nearest ×2 upsampling, then a convolution: no checkerboard pattern."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(cin, cout, 3))


class TransformerNet(nn.Module):
    """c9s1-32, d64, d128, 5×R128, u64, u32, c9s1-3. RGB in [0, 1] in, RGB in [0, 1] out, any H×W ≥ 8."""

    def __init__(self, residual_blocks: int = 5) -> None:
        super().__init__()
        self.encoder = nn.Sequential(ConvLayer(3, 32, 9), ConvLayer(32, 64, 3, 2), ConvLayer(64, 128, 3, 2))
        self.residuals = nn.Sequential(*[ResidualBlock(128) for _ in range(residual_blocks)])
        self.decoder = nn.Sequential(
            UpsampleConv(128, 64), UpsampleConv(64, 32), ConvLayer(32, 3, 9, norm_act=False)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features after the residual blocks (at 1/4 size); the temporal feature loss compares these."""
        return self.residuals(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h < MIN_SIDE or w < MIN_SIDE:
            raise ValueError(f"image of {w}×{h} px is too small: both sides must be at least {MIN_SIDE} px")
        # Pad to a multiple of 4 so the two down- and up-sampling stages give back the input size.
        pad_h, pad_w = (-h) % SIZE_MULTIPLE, (-w) % SIZE_MULTIPLE
        padded = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        y = self.decoder(self.encode(padded))
        # A sigmoid keeps the output a valid image without clamping away the gradient.
        return torch.sigmoid(y[..., :h, :w])


class FrameTransformer(nn.Module):
    """A TransformerNet behind uint8 N×H×W×3 RGB frames, the layout video decoders give and encoders take.

    Converting on the device (inside the graph, for ONNX) moves a quarter of the bytes that float frames
    would, and the NHWC input permuted to NCHW is already channels_last in memory. Computes in the dtype
    of the wrapped network's weights.
    """

    def __init__(self, net: TransformerNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        dtype = self.net.encoder[0][1].weight.dtype
        x = frames.permute(0, 3, 1, 2).to(dtype) / 255
        return (self.net(x) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
