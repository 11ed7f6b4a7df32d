"""Widening a painter network (Net2Net): the same pictures at once, copies that then learn apart."""

from __future__ import annotations

import pytest
import torch

from infer.export import verification_photos
from infer.painters import CHECKPOINTS
from nets.painter import load_painter
from nets.transformer import Architecture, TransformerNet
from nets.widen import widened

MIXES = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0], [0.25, 0.25, 0.25, 0.25]])


def photos() -> torch.Tensor:
    """Three real photos (one per painter weight row), 64×96."""
    photo = torch.from_numpy(verification_photos()[1].copy()).permute(2, 0, 1).float() / 255
    crops = [photo[:, y:y + 64, x:x + 96] for y, x in ((0, 0), (20, 40), (40, 10))]
    return torch.stack(crops)


def random_family(architecture: Architecture) -> TransformerNet:
    """Four painters with random (γ, β) rows as well, so that every painter's norms differ."""
    torch.manual_seed(0)
    net = TransformerNet(4, architecture)
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if "weight" in name and parameter.dim() == 2:
                parameter.uniform_(0.5, 1.5)
            elif parameter.dim() == 2:
                parameter.normal_(0, 0.2)
    return net.eval()


@pytest.mark.skipif(not (CHECKPOINTS / "four_painters_fast.pt").is_file(), reason="the fast family is not shipped")
def test_the_widened_fast_family_paints_the_same_pictures():
    net, _ = load_painter(CHECKPOINTS / "four_painters_fast.pt")
    width = net.architecture.width * 3 // 2
    wide = widened(net.eval(), width, torch.Generator().manual_seed(1)).eval()
    assert wide.architecture.width == width and wide.norm_channels[0] == width
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(p.numel() for p in net.parameters())
    with torch.no_grad():
        assert (wide(photos(), MIXES) - net(photos(), MIXES)).abs().max() < 1e-4


@pytest.mark.parametrize("architecture", [Architecture(), Architecture(8, 2, 3, separable=True, pixel_shuffle=True),
                                          Architecture(8, 1, 3, pixel_shuffle=True, tail_convolutions=1)],
                         ids=["johnson", "separable_shuffle", "shuffle_with_a_tail"])
def test_every_layout_widens_to_the_same_pictures(architecture):
    net = random_family(architecture)
    wide = widened(net, architecture.width + 6, torch.Generator().manual_seed(2)).eval()
    with torch.no_grad():
        assert (wide(photos(), MIXES) - net(photos(), MIXES)).abs().max() < 1e-4
    with pytest.raises(ValueError, match="only be widened"):
        widened(net, architecture.width - 2, torch.Generator())


def test_a_copied_channel_learns_apart_from_its_original():
    """Were each copy's outgoing weights its original's, both would get the same gradient for ever."""
    wide = widened(random_family(Architecture(8, 1, 3, pixel_shuffle=True)), 12, torch.Generator().manual_seed(3))
    first = wide.encoder[1][1]  # the convolution after the unshuffle: output channels 8…11 are copies
    rows = first.weight.detach().flatten(1)
    originals = [int((rows[:8] == rows[k]).all(1).nonzero()) for k in range(8, 12)]
    wide.train()
    (wide(photos(), MIXES) - photos().flip(-1)).square().mean().backward()
    grad = first.weight.grad.flatten(1)
    assert all((grad[k] - grad[j]).abs().max() > 0.02 * grad.abs().max() for k, j in zip(range(8, 12), originals,
                                                                                            strict=True))
