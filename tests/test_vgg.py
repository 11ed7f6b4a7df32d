import pytest
import torch
from torchvision import models

from nets.images import load_image
from nets.vgg import WEIGHTS_ENV, VGGFeatures, VGGWeightsError

# torchvision's vgg16().features indices of the ReLUs, written out independently of nets.vgg's naming.
VGG16_RELU_INDEX = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}


def test_vgg16_matches_float32_reference(weights_dir, style_image):
    vgg = VGGFeatures("vgg16", list(VGG16_RELU_INDEX), weights_dir)
    assert vgg.source.endswith("vgg16_relu4_3_fp16.pth")

    state = torch.load(weights_dir / "vgg16_relu4_3_fp16.pth", weights_only=True)
    reference = models.vgg16(weights=None).features[:23].double()
    reference.load_state_dict({k.removeprefix("features."): v.double() for k, v in state.items()})
    photo = load_image(style_image, 96)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = ((photo - mean) / std).double()
    expected = {}
    for index, layer in enumerate(reference):
        x = layer(x.clone())
        for name, i in VGG16_RELU_INDEX.items():
            if i == index:
                expected[name] = x

    with torch.no_grad():
        got = vgg(photo)
    for name, want in expected.items():
        rel = (got[name].double() - want).norm() / want.norm()
        assert rel < 1e-3, f"{name}: relative error {rel:.2e}"
    assert not any(p.requires_grad for p in vgg.parameters())


def test_vgg19_from_folder_and_environment(weights_dir, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_dir))
    vgg = VGGFeatures("vgg19", ["relu1_1", "relu4_2", "relu5_1"])
    assert vgg.source.endswith("vgg19_relu5_1_fp16.pth")
    out = vgg(torch.rand(1, 3, 32, 32))
    assert out["relu5_1"].shape == (1, 512, 2, 2)


def test_truncated_file_names_the_missing_layer(weights_dir):
    with pytest.raises(VGGWeightsError, match="relu5_1"):
        VGGFeatures("vgg16", ["relu5_1"], weights_dir / "vgg16_relu4_3_fp16.pth")


def test_wrong_file_is_a_clear_error(tmp_path, style_image, tiny_painter):
    with pytest.raises(VGGWeightsError, match="cannot read VGG weights") as error:
        VGGFeatures("vgg16", ["relu1_2"], style_image)
    assert "weights_only" not in str(error.value)  # torch's advice to load unsafely never reaches a user
    with pytest.raises(VGGWeightsError, match="no vgg16"):
        VGGFeatures("vgg16", ["relu1_2"], tmp_path)
    with pytest.raises(VGGWeightsError, match="not a VGG state dict"):
        VGGFeatures("vgg16", ["relu1_2"], tiny_painter)


def test_offline_without_weights_says_how_to_supply_them(tmp_path, monkeypatch, capsys):
    """No local file and no network: torchvision's real download fails, and the error says what to do."""
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache, so the download is really tried
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens there: offline on any machine
    with pytest.raises(VGGWeightsError, match=f"--vgg-weights or the {WEIGHTS_ENV}"):
        VGGFeatures("vgg16", ["relu1_2"])
    out, err = capsys.readouterr()
    assert out == "" and "Downloading" in err  # torch hub's announcement; stdout is for results only

