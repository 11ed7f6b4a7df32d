import pytest
import torch

from nets.transformer import MIN_SIDE, TransformerNet


@pytest.mark.parametrize("size", [(8, 8), (37, 53), (64, 65), (33, 100)])
def test_any_size_comes_back_same_size_in_unit_range(size):
    torch.manual_seed(0)
    net = TransformerNet().eval()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert 0.0 <= y.min().item() and y.max().item() <= 1.0


def test_too_small_is_a_clear_error():
    with pytest.raises(ValueError, match=f"at least {MIN_SIDE} px"):
        TransformerNet()(torch.rand(1, 3, MIN_SIDE - 1, 32))


def test_architecture_follows_design():
    net = TransformerNet()
    modules = list(net.modules())
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.ConvTranspose2d)) for m in modules)
    norms = [m for m in modules if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(m.affine for m in norms)
    convs = [m for m in modules if isinstance(m, torch.nn.Conv2d)]
    assert all(m.padding == (0, 0) for m in convs)  # all padding is reflection, in ReflectionPad2d layers
    assert len(convs) == 3 + 2 * 5 + 2 + 1
