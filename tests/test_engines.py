"""Engines: which back end runs by default, the compiled PyTorch engine, and the fp16 check against fp32."""

import logging

import numpy as np
import pytest
import torch
import torch._inductor.config

from infer.engines import COMPILE_PAYS_PIXELS, default_engine, open_network
from infer.export import verification_photos
from infer.painters import PainterFiles
from infer.precision import difference

ONE = np.ones((4, 1), dtype=np.float32)  # painter weights of a one-painter file, up to 4 frames


def photo_frames(count: int, height: int, width: int) -> np.ndarray:
    """``count`` crops of a real photo, each shifted by 4 px."""
    photo = verification_photos()[0]
    return np.stack([photo[4 * k:4 * k + height, 4 * k:4 * k + width] for k in range(count)])


def test_auto_compiles_only_on_a_gpu_and_only_work_that_repays_it():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")  # only the device's type is read
    assert default_engine(True, True, cpu, 10 * COMPILE_PAYS_PIXELS) == "onnx"
    assert default_engine(True, False, cpu, 10 * COMPILE_PAYS_PIXELS) == "torch"
    assert default_engine(True, True, cuda, COMPILE_PAYS_PIXELS / 10) == "onnx"  # a photo, a short clip
    assert default_engine(True, True, cuda, COMPILE_PAYS_PIXELS) == "compiled"
    assert default_engine(False, True, cuda, 10 * COMPILE_PAYS_PIXELS) == "onnx"  # no .pt: nothing to compile


@pytest.mark.slow
def test_compiled_engine_paints_as_eager_and_compiles_once_for_a_clip(tiny_painter):
    files = PainterFiles(tiny_painter, None, None)
    eager, compiled = open_network(files, "torch", "cpu"), open_network(files, "compiled", "cpu")
    frames = photo_frames(3, 48, 64)
    full = compiled(frames, ONE[:3])
    last = compiled(frames[:2], ONE[:2])  # a clip's short last batch runs on the same graph, padded
    assert list(compiled.compile_seconds) == [(3, 48, 64, 3)] and compiled.description == "torch cpu fp32 compiled"
    assert difference(full, eager(frames, ONE[:3])).within("fp32")
    assert difference(last, eager(frames[:2], ONE[:2])).within("fp32")


@pytest.mark.slow
def test_a_compiler_failure_falls_back_to_eager(tiny_painter, monkeypatch, caplog):
    monkeypatch.setattr(torch._inductor.config.cpp, "cxx", (None, "/nonexistent/c++"))
    monkeypatch.setattr(torch._inductor.config, "fx_graph_cache", False)  # so the compiler really runs
    files = PainterFiles(tiny_painter, None, None)
    network = open_network(files, "compiled", "cpu")
    frames = photo_frames(2, 40, 56)  # a shape no other test compiles
    with caplog.at_level(logging.WARNING):
        out = network(frames, ONE[:2])
    assert "No working C++ compiler" in caplog.text and "running it eager" in caplog.text
    assert network.description == "torch cpu fp32 (compiling failed)" and network.compile_seconds == {}
    np.testing.assert_array_equal(out, open_network(files, "torch", "cpu")(frames, ONE[:2]))


@pytest.mark.slow
def test_fp16_is_used_for_a_size_once_it_agrees_with_fp32(tiny_painter):
    network = open_network(PainterFiles(tiny_painter, None, None), "torch", "cpu", "fp16")
    frames = photo_frames(1, 48, 64)
    first, again = network(frames, ONE[:1]), network(frames, ONE[:1])
    check = network.check
    assert list(check.checked) == [(48, 64)] and check.checked[(48, 64)].within("fp16")
    assert check.fallback is None and network.description == "torch cpu fp16"
    np.testing.assert_array_equal(first, again)
    network(photo_frames(1, 40, 56), ONE[:1])  # another size is checked on its own
    assert list(check.checked) == [(48, 64), (40, 56)]


@pytest.mark.slow
def test_fp16_that_overflows_is_caught_and_the_painter_runs_in_fp32(tiny_painter, tmp_path, caplog):
    """Scaling the first convolution by 1e5 changes nothing in fp32 (the instance norm after it removes any
    scale), but its outputs pass fp16's largest number, 65504: the kind of failure the check is for."""
    payload = torch.load(tiny_painter, weights_only=True)
    for key in ("encoder.0.1.weight", "encoder.0.1.bias"):
        payload["model"][key] = payload["model"][key] * 1e5
    torch.save(payload, tmp_path / "loud.pt")
    frames = photo_frames(1, 48, 64)
    fp32 = open_network(PainterFiles(tiny_painter, None, None), "torch", "cpu", "fp32")(frames, ONE[:1])
    network = open_network(PainterFiles(tmp_path / "loud.pt", None, None), "torch", "cpu", "fp16")
    with caplog.at_level(logging.WARNING):
        first = network(frames, ONE[:1])
    again = network(frames, ONE[:1])
    assert not network.check.checked[(48, 64)].within("fp16")
    assert "painting in fp32 instead" in caplog.text and network.description.endswith("fp16 failed its check)")
    for out in (first, again):
        assert difference(out, fp32).within("fp32")
