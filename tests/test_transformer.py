from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from nets.painter import load_painter
from nets.transformer import MIN_SIDE, Architecture, CondInstanceNorm, FrameTransformer, TransformerNet
from tests.conftest import shared


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
    net = TransformerNet(painters=3)
    modules = list(net.modules())
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.ConvTranspose2d, nn.InstanceNorm2d)) for m in modules)
    norms = [m for m in modules if isinstance(m, CondInstanceNorm)]
    assert len(norms) == 3 + 2 * 5 + 2 and all(m.weight.shape[0] == 3 for m in norms)
    convs = [m for m in modules if isinstance(m, nn.Conv2d)]
    assert all(m.padding == (0, 0) for m in convs)  # all padding is reflection, in ReflectionPad2d layers
    assert len(convs) == 3 + 2 * 5 + 2 + 1
    # Painters share every convolution: a family of 3 adds only 2 more (γ, β) rows per norm to one painter.
    extra = sum(p.numel() for p in net.parameters()) - sum(p.numel() for p in TransformerNet().parameters())
    assert extra == 2 * 2 * sum(m.weight.shape[1] for m in norms)


@pytest.mark.parametrize("channels_last", [False, True])
def test_one_painter_norm_is_exactly_instance_norm(channels_last):
    """What painter/1 files ran (nn.InstanceNorm2d with affine) is what a one-hot row runs, bit for bit."""
    torch.manual_seed(1)
    reference = nn.InstanceNorm2d(16, affine=True)
    nn.init.normal_(reference.weight)
    nn.init.normal_(reference.bias)
    norm = CondInstanceNorm(16, painters=3)
    with torch.no_grad():
        norm.weight[1], norm.bias[1] = reference.weight, reference.bias
    x = torch.randn(2, 16, 21, 30)
    if channels_last:  # uint8 NHWC frames permuted to NCHW reach the network in this layout
        x = x.contiguous(memory_format=torch.channels_last)
    mix = torch.tensor([[0.0, 1.0, 0.0]] * 2)
    assert torch.equal(norm(x, mix), reference(x))


@pytest.mark.parametrize("offset_in_stds", [0.0, 5.0])
def test_bf16_channels_last_norm_matches_fp32_instance_norm_on_a_photo(offset_in_stds):
    """The compiled CPU engines' norm (bf16, channels-last, statistics as two float sums) normalises a real
    photo's maps as nn.InstanceNorm2d does in fp32, to bf16's rounding, also with every map's mean 5 std away
    from zero, which is as far as either shipped family's maps go on photos."""
    photo = torch.from_numpy(np.asarray(Image.open(shared("data", "photos", "val", "bsds300_img_014.jpg"))
                                        .convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    maps = photo + offset_in_stds * photo.std(dim=(2, 3), keepdim=True)
    reference = nn.InstanceNorm2d(3)(maps)
    norm = CondInstanceNorm(3, painters=1)
    got = norm(maps.bfloat16().contiguous(memory_format=torch.channels_last), torch.ones(1, 1))
    # bf16 keeps 8 significant bits of each value (steps of 0.016 near 2 std): measured 0.027 and 0.047, most of
    # it from rounding the input, which moves further from zero with the offset.
    assert (got.float() - reference).abs().max() < 0.03 + 0.01 * offset_in_stds
    mean, var = CondInstanceNorm.channels_last_statistics(maps.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(var, maps.var(dim=(2, 3), unbiased=False), rtol=1e-4, atol=0)
    torch.testing.assert_close(mean, maps.mean(dim=(2, 3)))


def test_a_painter_1_file_loads_as_a_family_of_one_with_the_same_output(tmp_path):
    torch.manual_seed(2)
    net = TransformerNet()
    for m in net.modules():
        if isinstance(m, CondInstanceNorm):
            nn.init.normal_(m.weight, 1.0, 0.2)
            nn.init.normal_(m.bias, 0.0, 0.2)
    # The layout painter/1 wrote: (γ, β) as vectors, metrics not keyed by painter.
    old = {k: v[0] if v.dim() == 2 else v for k, v in net.state_dict().items()}
    torch.save({"format": "painter/1", "name": "old", "model": old, "config": {"style": "s.jpg", "style_size": 256,
                "style_weight": 5.0}, "step": 3, "metrics": {"val_style": 0.5}}, tmp_path / "old.pt")
    model, payload = load_painter(tmp_path / "old.pt")
    assert model.painters == 1 and payload["painters"][0]["name"] == "old"
    assert payload["painters"][0]["metrics"] == {"val_style": 0.5}
    frames = torch.randint(0, 256, (2, 40, 56, 3), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(FrameTransformer(model.eval())(frames), FrameTransformer(net.eval())(frames))


def family(painters: int = 3) -> TransformerNet:
    torch.manual_seed(3)
    net = TransformerNet(painters).eval()
    for m in net.modules():
        if isinstance(m, CondInstanceNorm):
            nn.init.normal_(m.weight, 1.0, 0.3)
            nn.init.normal_(m.bias, 0.0, 0.3)
    return net


def test_a_family_painter_is_exactly_its_weights_run_alone():
    net = family()
    x = torch.rand(3, 3, 32, 40)
    with torch.no_grad():
        together = net(x, torch.eye(3))  # each image its own painter, in one batch
        for k in range(3):
            alone = net.blended(torch.eye(3)[k])
            assert alone.painters == 1
            assert torch.equal(net(x, torch.eye(3)[k].expand(3, 3)), alone(x))
            # Other painters in the batch do not change an image's result (beyond float noise of the batch size).
            torch.testing.assert_close(together[k], alone(x)[k], rtol=0, atol=1e-5)
    assert (together[0] - net(x[:1], torch.eye(3)[1:2])[0]).abs().mean() > 0.01  # the painters differ


def test_a_blend_mixes_the_painters_and_equals_its_blended_network():
    net = family()
    x = torch.rand(1, 3, 32, 32)
    half = torch.tensor([[0.5, 0.5, 0.0]])
    with torch.no_grad():
        blend, first, second = net(x, half), net(x, torch.eye(3)[:1]), net(x, torch.eye(3)[1:2])
        torch.testing.assert_close(net.blended(half[0])(x), blend, rtol=0, atol=1e-6)
    assert 0 < (blend - first).abs().mean() < (second - first).abs().mean()
    assert 0 < (blend - second).abs().mean() < (second - first).abs().mean()


def test_painter_weights_of_the_wrong_shape_are_refused():
    net = family()
    with pytest.raises(ValueError, match="give the painter weights"):
        net(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="must be 2×3"):
        net(torch.rand(2, 3, 16, 16), torch.eye(3)[:1])


def test_a_grown_family_paints_its_painters_as_before_and_teaches_only_the_new_rows():
    net = family(2)
    grown = net.with_painters(3)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(grown(x, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])), net(x, torch.eye(2)))
        # The newcomer starts between the others: exactly their half-and-half blend.
        torch.testing.assert_close(grown(x, torch.eye(3)[2:].expand(2, 3)), net(x, torch.full((2, 2), 0.5)),
                                   rtol=0, atol=1e-6)
    grown.train_only_rows([2])
    grown(x, torch.tensor([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])).mean().backward()  # a blend reaches every row
    rows = [p for p in grown.parameters() if p.dim() == 2]
    assert all(p.grad is None for p in grown.parameters() if p.dim() != 2)
    assert all(not p.grad[:2].any() for p in rows) and any(p.grad[2].any() for p in rows)


def test_tail_convolutions_are_refused_without_a_pixel_shuffle():
    with pytest.raises(ValueError, match="before a pixel shuffle"):
        Architecture(tail_convolutions=1)


@pytest.mark.parametrize("tail", [0, 1])
def test_a_twice_as_wide_pixel_shuffle_student_takes_the_teachers_inner_layers(tail):
    teacher = family(2)
    student = TransformerNet(2, Architecture(width=64, outer_kernel=5, pixel_shuffle=True, tail_convolutions=tail))
    student.eval()
    assert len(student.decoder) == 3 + tail
    taken = set(student.graft(teacher))
    assert {k.split(".")[0] + "." + k.split(".")[1] for k in taken if not k.startswith("residuals")} == {
        "encoder.1", "encoder.2", "decoder.0"}
    assert all(k in taken for k in student.state_dict() if k.startswith("residuals"))
    assert not any(k.startswith(("encoder.1.1", "decoder.1", "decoder.2")) for k in taken)  # other shapes
    # Fed the teacher's features after its first two layers, the grafted student gives the teacher's features
    # before its last two: only the outer layers are left to learn.
    x, mix = torch.rand(2, 3, 32, 48), torch.tensor([[1.0, 0.0], [0.3, 0.7]])
    with torch.no_grad():
        features = teacher.parts()[0](x, mix)
        want = teacher.parts()[1](features, mix)
        got = student.parts()[1](features, mix)
        first, inner, last = student.parts()  # the three in turn are the whole network
        whole = torch.sigmoid(last(inner(first(x, mix), mix), mix))
        assert torch.equal(whole, student(x, mix))
    assert torch.equal(got, want)
    assert [type(m).__name__ for m in student.parts()[1]] == ["ConvLayer", "Conditioned", "UpsampleConv"]
    assert student.graft(TransformerNet(2, Architecture(width=16, pixel_shuffle=True))) == []
    with pytest.raises(ValueError, match="3 painters"):
        student.graft(family(3))


def _photo_crop(side: int) -> np.ndarray:
    first = sorted(shared("data", "photos", "val").glob("*.jpg"))[0]
    return np.asarray(Image.open(first).convert("RGB"))[:side, :side].copy()


def test_an_anti_aliased_network_moved_1px_repaints_less_than_a_strided_one():
    """The measure behind the steady family (nets.metrics.repaint): the same random weights, with nearest
    upsampling and bare stride-2 convolutions, then with bilinear upsampling and a low-pass before each stride."""
    from nets.metrics import repaint

    torch.manual_seed(0)
    plain = TransformerNet().eval()
    smooth = TransformerNet(architecture=Architecture(smooth_upsampling=True, blur_downsampling=True)).eval()
    smooth.load_state_dict(plain.state_dict())  # no weight added: the plain network's file loads as it is
    image = _photo_crop(128)

    def painter(net: TransformerNet):
        frames = FrameTransformer(net)
        return lambda x: frames(torch.from_numpy(x)[None])[0].numpy()

    with torch.no_grad():
        assert repaint(painter(plain), image, 0, 0) == 0  # the measure of no move is nothing
        strided, anti_aliased = (repaint(painter(net), image, 1, 0) for net in (plain, smooth))
        whole_grid = repaint(painter(plain), image, 4, 0)  # a move of the whole 4-px grid repaints little
    assert anti_aliased < 0.5 * strided and whole_grid < 0.5 * strided, (strided, anti_aliased, whole_grid)


@pytest.mark.parametrize("smooth,blur", [(True, False), (False, True), (True, True)])
def test_anti_aliased_resampling_takes_a_trained_family_as_it_is(smooth, blur):
    """The graft: the shipped family's file loads into the anti-aliased network with every tensor, and its
    paintings stay the family's pictures (the fine-tune starts close to them, not from noise)."""
    shipped = Path(__file__).parent.parent / "checkpoints" / "four_painters.pt"
    family, payload = load_painter(shipped)
    grafted = TransformerNet(4, Architecture(smooth_upsampling=smooth, blur_downsampling=blur)).eval()
    grafted.load_state_dict(torch.load(shipped, weights_only=True)["model"])  # strict: every tensor
    image = torch.from_numpy(_photo_crop(96)).permute(2, 0, 1)[None].float() / 255
    mix = torch.eye(4)[:1]
    with torch.no_grad():
        before, after = family(image, mix), grafted(image, mix)
    psnr = -10 * torch.log10((before - after).pow(2).mean()).item()
    assert 17 < psnr < 60, psnr  # changed, but the same picture
    assert payload["name"] == "four_painters"

