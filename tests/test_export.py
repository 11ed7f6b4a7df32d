import json

import numpy as np
import onnx
import pytest
import torch

from infer.export import ExportError, export_painter, verification_photos
from infer.networks import OnnxNetwork, TorchNetwork, tiles_graph
from infer.precision import TOLERANCE, Difference
from infer.stylizer import Stylizer
from nets.painter import load_painter
from nets.transformer import FrameTransformer


@pytest.fixture(scope="module")
def exported(tiny_painter, tmp_path_factory):
    path = tiny_painter
    out = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    return path, export_painter(path, out, verification_photos())


@pytest.mark.slow
def test_export_matches_pytorch_at_two_sizes_one_odd(exported):
    _, report = exported
    # The graph, and its tile graph fed the graph's own norm statistics.
    assert set(report.max_diff) == {"256x256", "181x139", "256x256 tiles", "181x139 tiles"}
    # uint8 outputs: fp32 ONNX Runtime and PyTorch may differ only where rounding sits on a .5 boundary.
    assert all(d <= 1 for d in report.max_diff.values()) and all(m < 0.01 for m in report.mean_diff.values())
    assert report.path.is_file() and tiles_graph(report.path).is_file()


def test_exported_graph_has_dynamic_sizes_and_metadata(exported):
    checkpoint, report = exported
    model = onnx.load(str(report.path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["painter"] == "tiny" and meta["precision"] == "fp32"
    assert meta["source_checkpoint"] == checkpoint.name and "uint8" in meta["input_convention"]
    assert model.opset_import[0].version >= 17
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and isinstance(dims[1], str) and isinstance(dims[2], str) and dims[3] == 3

    # A size and batch never seen at export time, through both engines.
    frames = np.random.default_rng(0).integers(0, 256, (3, 37, 90, 3), dtype=np.uint8)
    onnx_out = Stylizer(report.path, engine="onnx", device="cpu").engine(frames)
    torch_out = Stylizer(checkpoint, engine="torch", device="cpu", precision="fp32").engine(frames)
    assert onnx_out.shape == frames.shape and onnx_out.dtype == np.uint8
    assert np.abs(onnx_out.astype(int) - torch_out.astype(int)).max() <= 1


@pytest.mark.slow
def test_fp16_export_is_checked_against_fp32(tiny_painter, tmp_path):
    """fp16 InstanceNormalization has been wrong in ONNX Runtime before: the export compares with fp32."""
    path = tiny_painter
    report = export_painter(path, tmp_path / "tiny.fp16.onnx", verification_photos(), fp16=True)
    assert report.precision == "fp16" and set(report.max_diff) >= {"256x256", "181x139"}
    assert max(report.max_diff.values()) <= TOLERANCE["fp16"].max
    model = onnx.load(str(report.path))
    assert {p.key: p.value for p in model.metadata_props}["precision"] == "fp16"
    assert tiles_graph(report.path).name == "tiny.fp16.tiles.onnx"
    conv_weights = [init for init in model.graph.initializer if len(init.dims) == 4]
    assert conv_weights and {w.data_type for w in conv_weights} == {onnx.TensorProto.FLOAT16}
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8  # I/O stays uint8


@pytest.mark.slow
def test_export_that_disagrees_is_not_kept(tiny_painter, tmp_path, monkeypatch):
    path = tiny_painter
    monkeypatch.setitem(TOLERANCE, "fp32", Difference(-1, -1.0))  # nothing can pass
    with pytest.raises(ExportError, match="not kept"):
        export_painter(path, tmp_path / "bad.onnx", verification_photos())
    assert list(tmp_path.iterdir()) == []  # neither graph is kept


def test_frame_transformer_is_the_network_on_uint8_frames(tiny_painter):
    path = tiny_painter
    model, _ = load_painter(path)
    frames = np.random.default_rng(1).integers(0, 256, (2, 24, 40, 3), dtype=np.uint8)
    with torch.no_grad():
        direct = model(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
        wrapped = FrameTransformer(model)(torch.from_numpy(frames))
    expected = (direct * 255).round().byte().permute(0, 2, 3, 1)
    assert torch.equal(wrapped, expected)


@pytest.mark.slow
def test_a_family_exports_to_one_graph_with_painter_weights(tiny_family, tmp_path):
    report = export_painter(tiny_family, tmp_path / "duo.onnx", verification_photos())
    # Checked for each painter and an even blend, at both sizes.
    assert set(report.max_diff) == {f"{size} {case}{tiles}" for size in ("256x256", "181x139")
                                    for case in ("painter 0", "painter 1", "blend") for tiles in ("", " tiles")}
    assert max(report.max_diff.values()) <= 1
    model = onnx.load(str(report.path))
    assert [i.name for i in model.graph.input] == ["frames", "painter_weights"]
    assert [o.name for o in model.graph.output] == ["stylized", "norm_stats"]
    tiles = onnx.load(str(tiles_graph(report.path)))
    assert [i.name for i in tiles.graph.input] == ["frames", "painter_weights", "norm_stats"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert [p["name"] for p in json.loads(meta["painters"])] == ["vangogh_starry_night", "munch_the_scream"]

    # Per-frame weights never seen at export: a batch mixing a painter, a blend and the other painter.
    frames = np.random.default_rng(2).integers(0, 256, (3, 33, 47, 3), dtype=np.uint8)
    weights = np.array([[1, 0], [0.3, 0.7], [0, 1]], dtype=np.float32)
    onnx_out = OnnxNetwork(report.path, torch.device("cpu"))(frames, weights)
    torch_out = TorchNetwork(tiny_family, torch.device("cpu"))(frames, weights)
    assert np.abs(onnx_out.astype(int) - torch_out.astype(int)).max() <= 1
    assert np.abs(torch_out[0].astype(int) - torch_out[2]).mean() > 1  # the two painters differ


@pytest.mark.slow
def test_one_painter_of_a_family_exports_as_a_plain_graph(tiny_family, tmp_path):
    weights = np.array([0.0, 1.0], dtype=np.float32)
    report = export_painter(tiny_family, tmp_path / "munch.onnx", verification_photos(), weights=weights,
                            name="munch_the_scream")
    model = onnx.load(str(report.path))
    assert [i.name for i in model.graph.input] == ["frames"]
    assert {p.key: p.value for p in model.metadata_props}["painter"] == "munch_the_scream"
    frames = np.random.default_rng(3).integers(0, 256, (2, 40, 30, 3), dtype=np.uint8)
    alone = Stylizer(report.path, device="cpu").engine
    in_family = Stylizer(tiny_family, engine="torch", device="cpu", precision="fp32").engine.engines[1]
    assert alone.name == in_family.name == "munch_the_scream"
    assert np.abs(alone(frames).astype(int) - in_family(frames)).max() <= 1
