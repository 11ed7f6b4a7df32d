"""Engines: which back end and precision run by default, the compiled PyTorch engine, and the check of fp16
and bf16 against fp32."""

import logging

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch._dynamo.config
import torch._inductor.config
from PIL import Image

from infer.engines import EngineError, painter_engines
from infer.export import verification_photos
from infer.networks import BoundBuffers, OnnxNetwork
from infer.painters import PainterFiles, find_painter
from infer.plan import COMPILE_PAYS_PIXELS, default_engine, default_precision, open_network
from infer.precision import difference
from infer.video import RenderOptions, stylize_video
from tests.clips import make_clip
from tests.conftest import run_cli

ONE = np.ones((4, 1), dtype=np.float32)  # painter weights of a one-painter file, up to 4 frames


def photo_frames(count: int, height: int, width: int) -> np.ndarray:
    """``count`` crops of a real photo, each shifted by 4 px."""
    photo = verification_photos()[0]
    return np.stack([photo[4 * k:4 * k + height, 4 * k:4 * k + width] for k in range(count)])


def test_the_plan_says_what_auto_chose_and_why(monkeypatch, tmp_path):
    """One place decides how a painter opens; its reasons name what decided it (the work ahead, the export, the
    CPU's bf16), and the command line prints them with --explain before painting."""
    from infer import prebuilt
    from infer.plan import plan
    from nets.device import cpp_compiler_found

    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, str(tmp_path / "nothing prebuilt"))
    files = find_painter("four_painters").files
    small = plan(files, device="cpu", precision="fp32", workload=1e4)
    assert small.engine == "onnx" and small.onnx_file == files.onnx
    assert "do not repay compiling" in small.explain() and "an ONNX export is there" in small.explain()
    big = plan(files, device="cpu", precision="fp32", workload=10 * COMPILE_PAYS_PIXELS["cpu"])
    assert big.engine == ("compiled" if cpp_compiler_found() else "onnx")
    asked = plan(files, engine="torch", device="cpu", precision="auto")
    assert "engine torch: asked for" in asked.explain() and f"precision {asked.precision}:" in asked.explain()
    photo = tmp_path / "photo.png"
    Image.fromarray(photo_frames(1, 64, 96)[0]).save(photo)
    result = run_cli("infer", "image", str(photo), "-o", str(tmp_path / "out.png"), "-m", "munch_the_scream",
                     "--engine", "torch", "--explain")
    assert result.returncode == 0, result.stderr
    assert "four_painters: torch engine" in result.stderr and "engine torch: asked for" in result.stderr


def test_auto_compiles_only_work_that_repays_it():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")  # only the device's type is read
    on_cpu, on_gpu = COMPILE_PAYS_PIXELS["cpu"], COMPILE_PAYS_PIXELS["cuda"]
    assert on_cpu < on_gpu  # compiling repays sooner where each pixel costs more
    assert default_engine(True, True, cpu, on_cpu / 10) == "onnx"  # a photo, a short clip
    assert default_engine(True, False, cpu, on_cpu / 10) == "torch"
    assert default_engine(True, True, cpu, on_cpu) == "compiled"  # this machine has a C++ compiler
    onnx_on_gpu = "onnx" if "CUDAExecutionProvider" in ort.get_available_providers() else "torch"
    assert default_engine(True, True, cuda, on_gpu / 10) == onnx_on_gpu  # never ONNX Runtime's CPU build
    assert default_engine(True, True, cuda, on_gpu) == "compiled"  # Triton comes with torch's CUDA wheels
    assert default_engine(False, True, cuda, 10 * on_gpu) == "onnx"  # no .pt: nothing to compile


def test_auto_takes_a_prebuilt_painter_for_any_workload_where_one_is_built():
    cpu = torch.device("cpu")
    assert default_engine(True, True, cpu, 0, prebuilt_ready=True) == "prebuilt"  # one small photo
    assert default_engine(True, True, cpu, COMPILE_PAYS_PIXELS["cpu"], prebuilt_ready=True) == "prebuilt"
    assert default_engine(True, True, cpu, COMPILE_PAYS_PIXELS["cpu"]) == "compiled"  # not built: compile


def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch, tiny_painter):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    files = PainterFiles(tiny_painter, None, None)
    for has_bf16 in (True, False):
        monkeypatch.setattr("infer.plan.native_bf16", lambda has=has_bf16: has)
        assert default_precision(cpu, "auto", True) == ("bf16" if has_bf16 else "fp32")
        assert default_precision(cpu, "onnx", True) == "fp32"  # ONNX Runtime has no bf16 convolutions
        assert default_precision(cpu, "auto", False) == "fp32"  # only an export: nothing runs bf16
        assert default_precision(cuda, "auto", True) == "fp16"
        network = open_network(files, "auto", "cpu")
        assert network.description == f"torch cpu {'bf16' if has_bf16 else 'fp32'}"
        assert (network.check is not None) == has_bf16
    shipped = find_painter("four_painters").files
    assert open_network(shipped, "auto", "cpu").description == "onnxruntime CPUExecutionProvider fp32"
    with pytest.raises(EngineError, match="bf16 runs on the torch"):
        open_network(shipped, "onnx", "cpu", "bf16")


def test_bf16_is_checked_on_a_small_copy_and_paints_like_fp32(tiny_family):
    files = PainterFiles(tiny_family, None, None)
    network = open_network(files, "torch", "cpu", "bf16")
    frames, weights = photo_frames(2, 48, 64), np.float32([[0.3, 0.7], [0, 1]])
    out = network(frames, weights)
    check = network.check
    assert check.on_probe and list(check.checked) == [(48, 64)] and check.checked[(48, 64)].within("bf16")
    assert check.fallback is None and network.description == "torch cpu bf16"
    assert difference(out, open_network(files, "torch", "cpu", "fp32")(frames, weights)).within("bf16")


@pytest.mark.slow
def test_bf16_compiled_in_channels_last_paints_like_fp32(tiny_family):
    files = PainterFiles(tiny_family, None, None)
    network = open_network(files, "compiled", "cpu", "bf16")
    frames, weights = photo_frames(2, 48, 64), np.float32([[1, 0], [0.5, 0.5]])
    out = network(frames, weights)
    assert not network.check.on_probe and network.check.checked[(48, 64)].within("bf16")  # on the frame itself
    assert network.description == "torch cpu bf16 compiled" and list(network.compile_seconds) == [(2, 48, 64, 3)]
    assert difference(out, open_network(files, "torch", "cpu", "fp32")(frames, weights)).within("bf16")


@pytest.mark.slow
def test_compiled_engine_paints_as_eager_and_compiles_once_for_a_clip(tiny_family, tmp_path):
    files = PainterFiles(tiny_family, None, None)
    eager = open_network(files, "torch", "cpu", "fp32")
    network = open_network(files, "compiled", "cpu", "fp32")
    engine = painter_engines(network)[1]  # as commands call it: the painter's weights broadcast per frame
    frames, munch = photo_frames(4, 48, 64), np.tile(np.float32([0, 1]), (4, 1))
    torch._dynamo.reset()  # graphs other tests compiled would count as this clip's recompiles
    with torch._dynamo.config.patch(error_on_recompile=True):  # a second graph for one clip fails
        full = engine(frames)
        last = engine(frames[:3])  # a clip's short last batch runs on the same graph, padded
        make_clip(tmp_path / "clip.mp4", list(photo_frames(6, 48, 64)), fps=10)  # batches of 4, then 2
        stats = stylize_video(tmp_path / "clip.mp4", tmp_path / "out.mp4", engine,
                              RenderOptions(batch_size=4, progress=False))
    assert list(network.compile_seconds) == [(4, 48, 64, 3)] and network.description == "torch cpu fp32 compiled"
    assert stats.frames == 6
    assert difference(full, eager(frames, munch)).within("fp32")
    assert difference(last, eager(frames[:3], munch[:3])).within("fp32")


@pytest.mark.slow
def test_a_compiler_failure_falls_back_to_eager(tiny_painter, caplog):
    files = PainterFiles(tiny_painter, None, None)
    network = open_network(files, "compiled", "cpu", "fp32")
    frames = photo_frames(2, 40, 56)  # a shape no other test compiles
    no_compiler = {"cpp.cxx": (None, "/nonexistent/c++"), "fx_graph_cache": False}  # no cache: it really compiles
    with caplog.at_level(logging.WARNING), torch._inductor.config.patch(no_compiler):
        out = network(frames, ONE[:2])
    assert "No working C++ compiler" in caplog.text and "running it eager" in caplog.text
    assert network.description == "torch cpu fp32 (compiling failed)" and network.compile_seconds == {}
    np.testing.assert_array_equal(out, open_network(files, "torch", "cpu", "fp32")(frames, ONE[:2]))


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


#: Painters that a lower precision ruins and fp32 paints as before, by (precision, key, change). fp16: the
#: first convolution scaled by 1e5 changes nothing in fp32 (the instance norm after it removes any scale),
#: but its outputs pass fp16's largest number, 65504. bf16: a bias of 10⁴ is removed by the norm in fp32
#: too, but bf16 keeps 8 significant bits: at 10⁴ its steps are 64 apart and the picture, a few units
#: around it, is rounded away.
RUINED = [("fp16", ("encoder.0.1.weight", "encoder.0.1.bias"), lambda v: v * 1e5),
          ("bf16", ("encoder.0.1.bias",), lambda v: v + 1e4)]


@pytest.mark.slow
@pytest.mark.parametrize(("precision", "keys", "change"), RUINED, ids=[r[0] for r in RUINED])
def test_a_precision_that_ruins_the_picture_is_caught_and_the_painter_runs_in_fp32(tiny_painter, tmp_path, caplog,
                                                                                    precision, keys, change):
    payload = torch.load(tiny_painter, weights_only=True)
    for key in keys:
        payload["model"][key] = change(payload["model"][key])
    torch.save(payload, tmp_path / "ruined.pt")
    frames = photo_frames(1, 48, 64)
    fp32 = open_network(PainterFiles(tiny_painter, None, None), "torch", "cpu", "fp32")(frames, ONE[:1])
    network = open_network(PainterFiles(tmp_path / "ruined.pt", None, None), "torch", "cpu", precision)
    with caplog.at_level(logging.WARNING):
        first = network(frames, ONE[:1])
    again = network(frames, ONE[:1])
    assert not network.check.checked[(48, 64)].within(precision)
    assert "painting in fp32 instead" in caplog.text
    assert network.description.endswith(f"{precision} failed its check)")
    for out in (first, again):
        assert difference(out, fp32).within("fp32")
    if precision == "bf16":  # the command's result line names the precision that really painted
        Image.fromarray(frames[0]).save(tmp_path / "photo.png")
        result = run_cli("infer", "image", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out.png"), "-m",
                         str(tmp_path / "ruined.pt"), "--engine", "torch", "--precision", "bf16")
        assert result.returncode == 0 and "-> fp32 (bf16 failed its check)" in result.stdout, result.stdout


def test_onnx_runtime_asked_for_cuda_without_a_gpu_says_so_and_paints_on_the_cpu(caplog):
    if torch.cuda.is_available():
        pytest.skip("a GPU is here")
    path = find_painter("four_painters").files.onnx
    with caplog.at_level(logging.WARNING):
        network = OnnxNetwork(path, torch.device("cuda"))
    assert "could not use CUDA" in caplog.text
    assert network.description == "onnxruntime CPUExecutionProvider fp32" and not network.cuda_graphs
    frames, weights = photo_frames(1, 48, 64), np.eye(4, dtype=np.float32)[:1]
    np.testing.assert_array_equal(network(frames, weights), OnnxNetwork(path, torch.device("cpu"))(frames, weights))


def test_buffers_bound_once_give_each_call_its_own_frames():
    """The GPU path binds device buffers once per shape and copies each batch into them (what CUDA graphs
    need); the same binding works on the CPU, where it is checked against plain runs."""
    network = OnnxNetwork(find_painter("four_painters").files.onnx, torch.device("cpu"))
    session, weights = network.session, np.eye(4, dtype=np.float32)[[0, 2]]
    first, second = photo_frames(2, 48, 64), photo_frames(2, 48, 64)[:, :, ::-1].copy()
    bound = BoundBuffers(session, {"frames": first, "painter_weights": weights}, 0, -1, device="cpu")
    for frames in (first, second, first):
        inputs = {"frames": frames, "painter_weights": weights}
        got = bound(inputs)
        want = dict(zip(["stylized", "norm_stats"], session.run(None, inputs), strict=True))
        np.testing.assert_array_equal(got["stylized"], want["stylized"])
        np.testing.assert_allclose(got["norm_stats"], want["norm_stats"], rtol=1e-6)


def test_a_cpu_compile_does_not_warn_about_a_missing_cuda_runtime(tiny_painter, tmp_path, monkeypatch, caplog):
    """Inductor's C++ build looks for CUDA; where a toolkit is installed (here: CUDA_HOME pointed at a folder)
    it used to warn on every CPU compile."""
    open_network(PainterFiles(tiny_painter, None, None), "compiled", "cpu")
    monkeypatch.setenv("CUDA_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        import torch.utils.cpp_extension as cpp_extension  # as a compile imports it: it looks on import

        cpp_extension._find_cuda_home()
    assert "No CUDA runtime" not in caplog.text


def test_an_onnx_file_from_another_checkpoint_is_not_taken_for_the_painter(tiny_family, tmp_path, caplog):
    """duo.onnx that is really the shipped family's export (as after retraining duo.pt without exporting)."""
    pt, stale = tmp_path / "duo.pt", tmp_path / "duo.onnx"
    pt.write_bytes(tiny_family.read_bytes())
    stale.write_bytes(find_painter("four_painters").files.onnx.read_bytes())
    files = PainterFiles(pt, stale, None)
    with pytest.raises(EngineError, match=f"duo.onnx was exported from another checkpoint than duo.pt.*"
                                          f"python -m infer export {pt} --overwrite"):
        open_network(files, "onnx", "cpu")
    with caplog.at_level(logging.WARNING):
        network = open_network(files, "auto", "cpu", "fp32")  # fp32: where auto would take the export
    assert network.description.startswith("torch") and "painting with PyTorch instead" in caplog.text
    assert [p["name"] for p in network.painters] == ["vangogh_starry_night", "munch_the_scream"]  # duo's own
