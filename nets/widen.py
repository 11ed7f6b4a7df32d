"""A wider copy of a painter network that paints exactly the same pictures (Net2WiderNet, Chen et al. 2016).

Why: a student taught for hours holds what it learnt; a wider one started from random weights would have
to learn it all again. Widened this way it starts where the narrow one stopped, with room to learn more.

How: every new channel is a copy of an old one of the same layer. A convolution's output channels are
copied rows, so each copy computes what its original did, and instance norm keeps copies equal (each
channel is normalised by its own statistics, with its original's γ and β). Where a convolution reads
copied channels, each original weight is split among the copies in random shares that sum to one: the
sum is unchanged, and the copies, no longer symmetric, learn different things from the first step.
The residual stream stays consistent because one copy map serves every layer of the same channel count.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from nets.transformer import CondInstanceNorm, TransformerNet


def copy_map(old: int, new: int, generator: torch.Generator) -> torch.Tensor:
    """For each of ``new`` channels, the old channel it copies: the old ones first, then random picks."""
    return torch.cat([torch.arange(old), torch.randint(old, (new - old,), generator=generator)])


def split_shares(rows: int, inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """rows×len(inputs) random shares in [0.5, 1.5], normalised so that the copies of each input sum to one."""
    shares = torch.rand(rows, len(inputs), generator=generator) + 0.5
    totals = torch.zeros(rows, int(inputs.max()) + 1).index_add_(1, inputs, shares)
    return shares / totals[:, inputs]


@torch.no_grad()
def widened(net: TransformerNet, width: int, generator: torch.Generator) -> TransformerNet:
    """``net`` with ``width`` channels in its first convolution (and the rest in proportion), same pictures."""
    old_width = net.architecture.width
    if width < old_width:
        raise ValueError(f"a network can only be widened: {width} < {old_width}")
    wide = TransformerNet(net.painters, dataclasses.replace(net.architecture, width=width)).to(net.dtype)
    convolutions = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    # Every channel count scales with the width, except the picture's (3, or 12 after a pixel unshuffle).
    picture = {convolutions[0].in_channels, convolutions[-1].out_channels}
    maps: dict[int, torch.Tensor] = {}

    def channels(count: int) -> torch.Tensor:
        if count not in maps:
            maps[count] = copy_map(count, count if count in picture else count * width // old_width, generator)
        return maps[count]

    for old, new in zip(net.modules(), wide.modules(), strict=True):
        if isinstance(old, nn.Conv2d):
            out_map = channels(old.out_channels)
            weight = old.weight[out_map]
            if old.groups == 1:  # depthwise convolutions read only their own channel: nothing to split
                in_map = channels(old.in_channels)
                weight = weight[:, in_map] * split_shares(len(out_map), in_map, generator)[:, :, None, None]
            new.weight.copy_(weight)
            new.bias.copy_(old.bias[out_map])
        elif isinstance(old, CondInstanceNorm):
            out_map = channels(old.weight.shape[1])
            new.weight.copy_(old.weight[:, out_map])
            new.bias.copy_(old.bias[:, out_map])
    return wide
