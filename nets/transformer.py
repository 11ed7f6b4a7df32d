"""The feed-forward style network of Johnson et al. (2016), with the fixes that later work found, for one
painter or a family of painters.

Reflection padding instead of zero padding (zero padding darkens the borders), instance normalisation
with affine parameters instead of batch norm (Ulyanov et al. 2016: the style of a frame must not depend
on the other frames of the batch), and nearest-neighbour upsampling followed by a convolution instead of
transposed convolutions (Odena et al. 2016: those leave checkerboard artefacts).

A family (Dumoulin, Shlens & Kudlur 2017, conditional instance normalisation) shares every convolution;
each painter owns one row of scale and shift (γ, β) in every instance norm. ``forward`` takes per-image
painter weights: a one-hot row is one painter, any other row a blend, at the cost of one painter.
A family of one is the single-painter network, with the same parameter names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

#: Spatial sizes must be a multiple of this inside the network (two stride-2 stages).
SIZE_MULTIPLE = 4
#: The smallest side the network accepts: the residual blocks reflect-pad a 1/4-size map by 1.
MIN_SIDE = 8


@dataclass
class NormStats:
    """Instance-norm statistics (mean, variance; each N×C, float32) of every norm of a network, by index.

    ``record``: each norm stores the statistics of its own input (a pass over a thumbnail of a frame).
    Otherwise each norm normalises with the stored ones instead of its input's: passes over tiles of the
    full frame are then all normalised as one frame, so nothing shows where tiles meet.
    """

    record: bool
    values: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    #: Set on a pass over one tile that measures one norm: the tile's core (top, bottom, left, right, in px
    #: of the tile padded to a multiple of 4), that padded height, and the norm's index. The norms before it
    #: apply ``values``; that norm adds the sums of its input over the core to ``sums`` (3×C float64: Σx, Σx²,
    #: count) and ends the pass (``Measured``): sums over every tile give the whole frame's own statistics
    #: of that norm (``infer.tiles.exact_statistics``).
    region: tuple[int, int, int, int, int] | None = None
    measured: int = -1
    sums: torch.Tensor | None = None

    def add(self, x: torch.Tensor) -> None:
        """Keep the sums of the measured norm's input (1×C×h×w, a tile) over the core of ``region``."""
        top, bottom, left, right, height = self.region or (0, 0, 0, 0, 1)
        f = height // x.shape[-2]  # 1, 2 or 4: the norm's resolution (cores are on the network's 4-px grid)
        core = x[0, :, top // f:bottom // f, left // f:right // f]
        # Map by map in float64: the whole map in float64 and its square would take more memory than the pass
        # itself (the first norm's 32 maps at full resolution: 512 bytes a pixel), and so overrun the tile's budget.
        sums = torch.zeros(3, len(core), dtype=torch.float64, device=x.device)
        for channel, plane in enumerate(core):
            plane = plane.double()
            sums[0, channel], sums[1, channel] = plane.sum(), (plane * plane).sum()
        sums[2] = core[0].numel()
        self.sums = sums

    @staticmethod
    def from_sums(sums: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, variance), 1×C float32, from sums over a whole frame's tiles."""
        total, squares, count = sums
        mean = total / count
        return mean[None].float(), (squares / count - mean * mean).clamp_min(0)[None].float()

    def flat(self) -> torch.Tensor:
        """N×S: every norm's means then variances, in index order (what an ONNX graph passes along)."""
        return torch.cat([torch.cat(self.values[k], 1) for k in sorted(self.values)], 1)

    @classmethod
    def from_flat(cls, flat: torch.Tensor, channels: list[int]) -> NormStats:
        """The statistics ``flat`` holds for norms of these channel counts, to be applied."""
        parts = torch.split(flat, [2 * c for c in channels], dim=1)
        return cls(False, {k: (part[:, :c], part[:, c:]) for k, (part, c) in enumerate(zip(parts, channels,
                                                                                             strict=True))})


class Measured(Exception):  # noqa: N818 - not an error: the end of a measuring pass
    """Ends a pass over a tile once the norm it measures has its sums (``NormStats.measured``)."""


class TakesMix:
    """Marks the modules whose ``forward`` takes the painter weights (and norm statistics) as well."""


class CondInstanceNorm(nn.Module, TakesMix):
    """Instance norm whose scale and shift are the painter weights times one (γ, β) row per painter."""

    def __init__(self, channels: int, painters: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(painters, channels))
        self.bias = nn.Parameter(torch.zeros(painters, channels))
        self.eps = eps
        self.index = 0  # its place among the network's norms, set by TransformerNet

    def forward(self, x: torch.Tensor, mix: torch.Tensor, stats: NormStats | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        # Weighted sums written out rather than a matmul: autocast would round (γ, β) to bf16, and a
        # one-hot row gives back the painter's own row exactly.
        mix = mix.to(self.weight.dtype)[:, :, None]
        gamma = (mix * self.weight).sum(1)
        beta = (mix * self.bias).sum(1)
        if stats is not None and stats.record:
            var, mean = torch.var_mean(x.float(), dim=(2, 3), unbiased=False)
            stats.values[self.index] = (mean, var)
        if stats is not None and not stats.record:
            if self.index == stats.measured:
                stats.add(x)
                raise Measured
            mean, var = stats.values[self.index]
        elif x.dtype != torch.float32 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            # bf16 channels-last (the compiled CPU engines): the batch norm below would copy every map to NCHW
            # and back, which cost a quarter of the compiled bf16 painter's time on a CPU.
            mean, var = self.channels_last_statistics(x)
        else:
            # What F.instance_norm does inside (an NCHW batch norm over a batch of one with B·C channels), with
            # a scale and shift per image: so a one-painter file gives exactly nn.InstanceNorm2d's output.
            flat = x.contiguous().reshape(1, b * c, h, w)
            y = F.batch_norm(flat, None, None, gamma.reshape(b * c), beta.reshape(b * c), training=True, eps=self.eps)
            return y.reshape(b, c, h, w)
        scale = (gamma * torch.rsqrt(var + self.eps)).to(x.dtype)[:, :, None, None]
        return (x - mean.to(x.dtype)[:, :, None, None]) * scale + beta.to(x.dtype)[:, :, None, None]

    @staticmethod
    def channels_last_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance (B×C, float32) of a channels-last map, as two float sums rather than var_mean, whose
        Welford loop Inductor writes with a division an element: with the residual sum written out
        (``infer.prebuilt.INDUCTOR_CPU_OPTIONS``), 1.3× the fast family's frames/s at 720p on 2 CPU cores
        (scripts/bench/cpu_compile.py). Their cancellation is harmless where, as in both shipped families
        (|mean| ≤ 5 std on photos), no map's mean is far from zero; shifting by each map's first value to avoid
        it cost 0.84× the speed. The precision check catches a painter where it is not.
        """
        xf = x.float()
        mean = xf.mean(dim=(2, 3))
        return mean, ((xf * xf).mean(dim=(2, 3)) - mean * mean).clamp_min(0)


class Conditioned(nn.Sequential, TakesMix):
    """A sequence whose instance norms (and nested sequences) also get the painter weights."""

    def forward(self, x: torch.Tensor, mix: torch.Tensor,  # type: ignore[override]
                stats: NormStats | None = None) -> torch.Tensor:
        for module in self:
            x = module(x, mix, stats) if isinstance(module, TakesMix) else module(x)
        return x


class BlurPad(nn.Module):
    """A fixed [1, 2, 1] ⊗ [1, 2, 1] / 16 low-pass on every channel, then reflection padding by ``pad``.

    Why: before a stride-2 convolution it removes what the stride would fold back (aliasing), so that a
    1-px move of the input does not change which pattern each output cell sees (Zhang 2019, "Making
    convolutional networks shift-invariant again"). It takes the padding's place in a ``ConvLayer`` and its
    filter is a buffer, not a parameter: a trained family's file loads as it is, with the same tensor names.
    """

    def __init__(self, pad: int) -> None:
        super().__init__()
        self.pad = pad
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (taps[:, None] * taps[None, :] / 16)[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.kernel.to(x.dtype).expand(c, 1, 3, 3), groups=c)
        return F.pad(x, (self.pad,) * 4, mode="reflect")


class ConvLayer(Conditioned):
    """Reflection pad + convolution + (optional) instance norm and ReLU; ``blur``: a low-pass first (``BlurPad``)."""

    def __init__(self, cin: int, cout: int, kernel: int, painters: int, stride: int = 1, norm_act: bool = True,
                 separable: bool = False, blur: bool = False) -> None:
        layers: list[nn.Module] = [BlurPad(kernel // 2) if blur else nn.ReflectionPad2d(kernel // 2),
                                   *_convolution(cin, cout, kernel, stride, separable)]
        if norm_act:
            layers += [CondInstanceNorm(cout, painters), nn.ReLU(inplace=True)]
        super().__init__(*layers)


def _convolution(cin: int, cout: int, kernel: int, stride: int = 1, separable: bool = False) -> list[nn.Module]:
    """A convolution, or its depthwise-separable factoring (MobileNet's: a depthwise ``kernel`` × ``kernel``,
    then a 1×1), about 8× fewer operations at 64 channels: for the small fast family."""
    if not separable:
        return [nn.Conv2d(cin, cout, kernel, stride)]
    return [nn.Conv2d(cin, cin, kernel, stride, groups=cin), nn.Conv2d(cin, cout, 1)]


class ResidualBlock(nn.Module, TakesMix):
    """Two 3×3 convolutions with a skip connection; the second has no ReLU (Gross & Wilber 2016)."""

    def __init__(self, channels: int, painters: int, separable: bool = False) -> None:
        super().__init__()
        self.body = Conditioned(
            ConvLayer(channels, channels, 3, painters, separable=separable),
            nn.ReflectionPad2d(1),
            *_convolution(channels, channels, 3, separable=separable),
            CondInstanceNorm(channels, painters),
        )

    def forward(self, x: torch.Tensor, mix: torch.Tensor, stats: NormStats | None = None) -> torch.Tensor:
        return x + self.body(x, mix, stats)


class UpsampleConv(Conditioned):
    """×2 upsampling, then a convolution: no checkerboard pattern.

    ``smooth``: bilinear rather than nearest. Bilinear ×2 is exactly nearest ×2 followed by a [1, 2, 1] / 4
    low-pass: nearest copies each cell into a 2×2 block, so a painting made of such blocks is redrawn
    whenever the input moves by less than a block (the 4-px stroke grid); the low-pass removes the block
    edges, the convolutions after it paint detail that moves with the image.
    """

    def __init__(self, cin: int, cout: int, painters: int, smooth: bool = False) -> None:
        upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False) if smooth \
            else nn.Upsample(scale_factor=2, mode="nearest")
        super().__init__(upsample, ConvLayer(cin, cout, 3, painters))


@dataclass(frozen=True)
class Architecture:
    """The network's size: Johnson et al.'s by default; the fast family is a narrower, shallower one."""

    width: int = 32  # channels of the first convolution; ×2 and ×4 after each stride-2 stage
    residual_blocks: int = 5
    outer_kernel: int = 9  # the first and last convolutions
    separable: bool = False  # depthwise-separable convolutions in the residual blocks
    #: The first stage is a 2×2 pixel unshuffle instead of a full-resolution convolution, and the last a
    #: pixel shuffle (Shi et al. 2016): no layer then runs at full resolution, where a small network spends
    #: most of its time moving memory (padding, norms, upsampling) rather than computing.
    pixel_shuffle: bool = False
    #: Pixel-shuffle only: 3×3 convolutions (with norm and ReLU) at half resolution before the last one. The
    #: full network paints through two layers after its residual blocks' first upsampling, the pixel-shuffle
    #: one through a single linear convolution: where fine brush strokes are lost.
    tail_convolutions: int = 0
    #: Anti-aliased resampling (steady by construction): bilinear rather than nearest upsampling
    #: (``UpsampleConv``), and a low-pass before each stride-2 convolution (``BlurPad``). Neither adds a weight,
    #: so a trained family's file loads into the anti-aliased network as it is (a graft), to be fine-tuned.
    smooth_upsampling: bool = False
    blur_downsampling: bool = False

    def __post_init__(self) -> None:
        if self.tail_convolutions and not self.pixel_shuffle:  # else the network would hold none but say it did
            raise ValueError("tail convolutions come before a pixel shuffle: not in a network without one")

    @classmethod
    def from_dict(cls, values: dict | None) -> Architecture:
        """As saved in a painter file; files from before architectures were saved hold the default one."""
        return cls(**(values or {}))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class TransformerNet(nn.Module):
    """c9s1-32, d64, d128, 5×R128, u64, u32, c9s1-3 by default (``Architecture``). RGB in [0, 1] in, RGB in
    [0, 1] out, any H×W ≥ 8.

    ``painters`` is the size of the family; the convolutions are shared, the (γ, β) rows are not.
    """

    def __init__(self, painters: int = 1, architecture: Architecture = Architecture()) -> None:
        super().__init__()
        self.painters, self.architecture = painters, architecture
        w, k, blocks = architecture.width, architecture.outer_kernel, architecture.residual_blocks
        blur, smooth = architecture.blur_downsampling, architecture.smooth_upsampling
        if architecture.pixel_shuffle:  # 1/2 resolution at once: the first stride-2 stage is the unshuffle
            encoder = [nn.PixelUnshuffle(2), ConvLayer(12, w, k, painters),
                       ConvLayer(w, 2 * w, 3, painters, 2, blur=blur)]
            inner = 2 * w
            decoder = [UpsampleConv(inner, w, painters, smooth),
                       *[ConvLayer(w, w, 3, painters) for _ in range(architecture.tail_convolutions)],
                       ConvLayer(w, 12, k, painters, norm_act=False), nn.PixelShuffle(2)]
        else:
            encoder = [ConvLayer(3, w, k, painters), ConvLayer(w, 2 * w, 3, painters, 2, blur=blur),
                       ConvLayer(2 * w, 4 * w, 3, painters, 2, blur=blur)]
            inner = 4 * w
            decoder = [UpsampleConv(inner, 2 * w, painters, smooth), UpsampleConv(2 * w, w, painters, smooth),
                       ConvLayer(w, 3, k, painters, norm_act=False)]
        self.encoder = Conditioned(*encoder)
        self.residuals = Conditioned(*[ResidualBlock(inner, painters, architecture.separable) for _ in range(blocks)])
        self.decoder = Conditioned(*decoder)
        self.norm_channels = []  # of each norm, in the order they run: the layout of NormStats.flat
        for index, norm in enumerate(m for m in self.modules() if isinstance(m, CondInstanceNorm)):
            norm.index = index
            self.norm_channels.append(norm.weight.shape[1])

    @property
    def dtype(self) -> torch.dtype:
        """What it computes in: the dtype of its weights (fp16 after ``.half()``)."""
        return next(self.parameters()).dtype

    def painter_weights(self, x: torch.Tensor, mix: torch.Tensor | None) -> torch.Tensor:
        """B×P weights for a batch: ``None`` means the only painter of a family of one."""
        if mix is None:
            if self.painters != 1:
                raise ValueError(f"this network holds {self.painters} painters: give the painter weights")
            return x.new_ones(x.shape[0], 1)
        if mix.shape != (x.shape[0], self.painters):
            raise ValueError(f"painter weights must be {x.shape[0]}×{self.painters} (images × painters), "
                             f"got {tuple(mix.shape)}")
        return mix

    def blended(self, weights: torch.Tensor) -> TransformerNet:
        """A one-painter network that paints as ``weights`` (P, summing to 1) blend this family's painters.

        (γ, β) are mixed once, as ``forward`` would mix them for every image: a one-hot ``weights`` gives
        that painter exactly. For tools that take one painter per file.
        """
        net = TransformerNet(1, self.architecture)
        mix = weights.to(torch.float32)[:, None]
        net.load_state_dict({k: (mix * v).sum(0, keepdim=True) if v.dim() == 2 else v
                             for k, v in self.state_dict().items()})
        return net

    def with_painters(self, painters: int) -> TransformerNet:
        """The same network with (γ, β) rows for ``painters`` painters: the rows it has, then new ones at
        their mean (a painter between the others, from which a new style is learnt faster than from
        scratch). The painters it had paint exactly as before."""
        if painters < self.painters:
            raise ValueError(f"this network holds {self.painters} painters, more than {painters}")
        net = TransformerNet(painters, self.architecture)
        net.load_state_dict({k: torch.cat([v, v.mean(0, keepdim=True).expand(painters - len(v), -1)])
                             if v.dim() == 2 else v for k, v in self.state_dict().items()})
        return net

    def graft(self, other: TransformerNet) -> list[str]:
        """Copy every layer of ``other`` (same painters) whose tensors have the same names and shapes here; return
        the names of the tensors taken.

        Why: a pixel-shuffle student twice as wide as Johnson's network has the teacher's inner layers exactly
        (the stride-2 convolution into the residual blocks, the blocks, the first upsampling convolution, and
        the norm whose features its first layer must give): grafted, only the outer layers remain to learn,
        and the student starts one short lesson away from the teacher's pictures rather than hours.
        """
        if other.painters != self.painters:
            raise ValueError(f"cannot graft a family of {other.painters} painters onto one of {self.painters}")
        mine, theirs = self.state_dict(), other.state_dict()
        layers: dict[str, list[str]] = {}  # whole layers only: a bias alike by chance stays out with its weight
        for key in mine:
            layers.setdefault(key.rsplit(".", 1)[0], []).append(key)
        taken = [k for keys in layers.values() if all(k in theirs and theirs[k].shape == mine[k].shape for k in keys)
                 for k in keys]
        self.load_state_dict({k: theirs[k] for k in taken}, strict=False)
        return taken

    def parts(self) -> tuple[Conditioned, Conditioned, Conditioned]:
        """The layers before the residual blocks' resolution, those at it (the stride-2 convolution into the
        blocks, the blocks, the first layer out of them) and those after: ``forward`` runs the three in turn.

        Why: the middle part is what ``graft`` finds the same in Johnson's network and in a pixel-shuffle student
        twice as wide, and what a grafted student's first lesson teaches around (``train.distill``).
        """
        return self.encoder[:-1], Conditioned(self.encoder[-1], self.residuals, self.decoder[0]), self.decoder[1:]

    def train_only_rows(self, rows: list[int]) -> None:
        """Freeze everything but the (γ, β) rows of ``rows``, so the other painters stay bit-identical.

        The convolutions stop taking gradients; the other rows' gradients are zeroed, which Adam turns
        into no step at all (needed where blends of old and new painters reach every row).
        """
        keep = torch.zeros(self.painters, 1)
        keep[rows] = 1
        for parameter in self.parameters():
            if is_row := parameter.dim() == 2:
                parameter.register_hook(lambda grad: grad * keep.to(grad))
            parameter.requires_grad_(is_row)

    def forward(self, x: torch.Tensor, mix: torch.Tensor | None = None, stats: NormStats | None = None
                ) -> torch.Tensor:
        """Stylise B×3×H×W images; ``mix`` (B×P, rows summing to 1) says which painter, or which blend.

        ``stats``: record every norm's statistics, or normalise with recorded ones (see ``NormStats``).
        """
        h, w = x.shape[-2:]
        if h < MIN_SIDE or w < MIN_SIDE:
            raise ValueError(f"image of {w}×{h} px is too small: both sides must be at least {MIN_SIDE} px")
        mix = self.painter_weights(x, mix)
        # Pad to a multiple of 4 so the two down- and up-sampling stages give back the input size.
        pad_h, pad_w = (-h) % SIZE_MULTIPLE, (-w) % SIZE_MULTIPLE
        padded = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        y = self.decoder(self.residuals(self.encoder(padded, mix, stats), mix, stats), mix, stats)
        # A sigmoid keeps the output a valid image without clamping away the gradient.
        return torch.sigmoid(y[..., :h, :w])


class FrameTransformer(nn.Module):
    """A TransformerNet behind uint8 N×H×W×3 RGB frames, the layout video decoders give and encoders take.

    Converting on the device (inside the graph, for ONNX) moves a quarter of the bytes that float frames
    would, and the NHWC input permuted to NCHW is already channels_last in memory. Computes in the dtype
    of the wrapped network's weights. A family takes the painter weights (N×P) as a second input.
    """

    def __init__(self, net: TransformerNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, frames: torch.Tensor, mix: torch.Tensor | None = None, stats: NormStats | None = None
                ) -> torch.Tensor:
        x = frames.permute(0, 3, 1, 2).to(self.net.dtype) / 255
        return (self.net(x, mix, stats) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
