"""Painters prebuilt for this CPU (``infer.prebuilt``): built once by ``python -m infer prebuild``, then any
frame size and batch at compiled speed, as eager PyTorch paints them, and chosen by ``auto`` only where built."""

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from infer import prebuilt
from infer.painters import PainterFiles, find_painter
from infer.plan import open_network
from infer.precision import difference
from nets.device import native_bf16
from scripts.helpers.studio_browser import WAIT_MS, add_painter, chromium, open_page, studio_server
from studio import prebuild
from tests.conftest import ROOT, assert_one_line_error, run_cli, shared
from tests.test_engines import photo_frames

pytestmark = pytest.mark.slow  # one build: about 3 minutes on 2 cores
FAST = ROOT / "checkpoints" / "four_painters_fast.pt"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> str:
    """A cache holding the shipped fast family prebuilt in fp32, by the command a user runs."""
    cache = str(tmp_path_factory.mktemp("prebuilt_cache"))
    before, os.environ[prebuilt.CACHE_VARIABLE] = os.environ[prebuilt.CACHE_VARIABLE], cache
    try:
        result = run_cli("infer", "prebuild", "four_painters_fast", "--precision", "fp32")
        assert result.returncode == 0, result.stderr
        assert "four_painters_fast (fp32): built in" in result.stdout
        # what it builds and about how long, then its progress while the compiler says nothing
        assert "building four_painters_fast for this CPU (fp32): about" in result.stderr
        assert "four_painters_fast (1 of 1):" in result.stderr and " s of about " in result.stderr
        again = run_cli("infer", "prebuild", "four_painters_fast", "--precision", "fp32")
        assert "already built" in again.stdout and "building" not in again.stderr  # a second run finds it
    finally:
        os.environ[prebuilt.CACHE_VARIABLE] = before
    return cache


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=pytest.mark.skipif(
    not native_bf16(), reason="bf16 is built and checked where the CPU computes it (AVX-512 BF16 or AMX)"))])
def test_prebuilt_painter_paints_any_size_and_batch_as_eager_pytorch(built, monkeypatch, tmp_path, precision):
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, built if precision == "fp32" else str(tmp_path))  # bf16: built here
    files = PainterFiles(FAST, None, None)
    network = open_network(files, "prebuilt", "cpu", precision)
    eager = open_network(files, "torch", "cpu", "fp32")
    assert network.description == f"torch cpu {precision} prebuilt"
    eye = np.eye(len(network.painters), dtype=np.float32)
    for frames, weights in ((photo_frames(1, 75, 101), eye[:1]),  # sides no multiple of 4
                            (photo_frames(3, 64, 96), eye[[0, 2, 3]]),  # a batch, painter by painter
                            (photo_frames(1, 200, 120), np.full((1, 4), 0.25, np.float32))):  # a blend
        out = network(frames, weights)
        assert out.shape == frames.shape
        assert difference(out, eager(frames, weights)).within(precision)
    assert network(frames, eye[:1]).std() > 10  # a painting, not a flat picture


def test_auto_takes_the_prebuilt_painter_only_where_this_file_was_built(built, monkeypatch, tmp_path):
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, built)

    def auto(files: PainterFiles) -> str:
        return open_network(files, "auto", "cpu", "fp32").description

    assert "prebuilt" in auto(find_painter("four_painters_fast").files)
    assert "prebuilt" not in auto(find_painter("four_painters").files)
    changed = tmp_path / "four_painters_fast.pt"  # the same name, other weights: retrained since it was built
    payload = torch.load(FAST, weights_only=True)
    first = next(iter(payload["model"]))
    payload["model"][first] = payload["model"][first] + 0.01
    torch.save(payload, changed)
    assert "prebuilt" not in auto(PainterFiles(changed, None, None))
    with monkeypatch.context() as later:  # a newer version of this tool builds another way
        later.setattr(prebuilt, "RECIPE", "r-next")
        assert "prebuilt" not in auto(find_painter("four_painters_fast").files)
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, str(tmp_path / "empty"))
    assert "prebuilt" not in auto(find_painter("four_painters_fast").files)


def test_commands_paint_clips_and_single_photos_prebuilt_without_importing_the_compiler(built, monkeypatch, tmp_path):
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, built)
    clip = shared("data", "video", "cockatoo_1280x720.mp4")
    video = run_cli("infer", "video", str(clip), "-o", str(tmp_path / "out.mp4"), "--duration", "0.5",
                    "--max-size", "320", "-m", "vangogh_starry_night", "--fast", "--precision", "fp32")
    assert video.returncode == 0 and "torch cpu fp32 prebuilt" in video.stdout, video.stderr
    Image.fromarray(photo_frames(1, 96, 128)[0]).save(tmp_path / "photo.png")
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # Python lists every module it imports on stderr
    image = run_cli("infer", "image", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out.png"),
                    "-m", "vangogh_starry_night", "--fast", "--precision", "fp32")
    assert image.returncode == 0 and "torch cpu fp32 prebuilt" in image.stdout, image.stderr
    imported = [line.rpartition("|")[2].strip() for line in image.stderr.splitlines()]
    assert "torch" in imported and "torch._inductor" not in imported  # opening a package needs no compiler (1.5 s)
    assert "tip:" not in image.stderr
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, str(tmp_path / "empty"))  # not built: the command says how
    monkeypatch.delenv("PYTHONPROFILEIMPORTTIME")
    image = run_cli("infer", "image", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out.png"), "--overwrite",
                    "-m", "vangogh_starry_night", "--fast", "--precision", "fp32")
    assert image.returncode == 0 and "prebuilt" not in image.stdout, image.stderr
    assert "tip: python -m infer prebuild four_painters_fast" in image.stderr


def test_the_studio_prebuilds_what_is_missing_in_the_background(built, monkeypatch, tmp_path, tiny_painter):
    log_path = tmp_path / "logs" / "prebuild.log"
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, built)
    assert prebuild.in_background(["four_painters_fast"], log_path, lambda: None, "fp32") is None  # built: nothing
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, str(tmp_path / "cache"))
    assert prebuild.missing([str(tiny_painter)], "fp32") == [str(tiny_painter)]
    done = threading.Event()
    build = prebuild.in_background([str(tiny_painter)], log_path, done.set, "fp32")
    assert build is not None and not done.is_set()  # the server goes on while it builds
    assert build.state == "building" and "in the background" in build.line()  # what the page says meanwhile
    build.thread.join(600)
    assert done.is_set(), log_path.read_text()
    assert build.state == "built" and "built for this CPU" in build.line()
    assert prebuild.missing([str(tiny_painter)], "fp32") == []
    assert "tiny (fp32): built in" in log_path.read_text()


def state_and_parent(pid: int | str) -> tuple[str, int]:
    """A process's state letter and parent pid (Linux /proc; OSError once it is gone)."""
    state, parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:2]
    return state, int(parent)


def descendants(pid: int) -> dict[int, str]:
    """The living processes under ``pid`` and their command lines."""
    children: dict[int, list[int]] = {}
    for folder in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            state, parent = state_and_parent(folder.name)
            if state != "Z":
                children.setdefault(parent, []).append(int(folder.name))
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            with contextlib.suppress(OSError):
                found[child] = Path(f"/proc/{child}/cmdline").read_text().replace("\0", " ")
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return state_and_parent(pid)[0] != "Z"
    return False


def test_the_studio_builds_the_shipped_painters_and_yours_and_a_stop_request_ends_every_build(
        monkeypatch, tmp_path, photo_dir, weights_dir, style_image):
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, str(tmp_path / "cache"))  # nothing built: it builds the families
    with studio_server(tmp_path / "studio", "--device", "cpu", "--photos", str(photo_dir), "--vgg-weights",
                       str(weights_dir)) as server:
        deadline = time.monotonic() + 120
        while not any("infer prebuild" in line for line in descendants(server.process.pid).values()):
            assert time.monotonic() < deadline, "no background build started"
            time.sleep(0.5)
        with chromium() as browser:
            page = open_page(browser, server.url)
            status = page.locator("#prebuild-status")
            status.wait_for(timeout=WAIT_MS)
            assert "Building four_painters, four_painters_fast for this CPU in the background" in status.inner_text()
            said = add_painter(page, style_image, "starry_copy", 0.25)  # a family of five: it is built too
            assert "being built for this CPU in the background" in said
        builds = descendants(server.process.pid)
        assert any("infer prebuild four_painters_starry_copy four_painters_starry_copy_fast" in line
                   for line in builds.values()), builds
        server.process.terminate()  # what kill, systemd or docker stop send
        assert server.process.wait(60) == 0
    deadline = time.monotonic() + 15
    while left := [line for pid, line in builds.items() if alive(pid)]:
        assert time.monotonic() < deadline, f"still running after the studio stopped: {left}"
        time.sleep(0.5)
    packages = list((tmp_path / "cache").rglob("*.pt2"))
    assert not [p.name for p in packages if ".part" in p.name], "a build cut short left a partial package"
    assert not [p.name for p in packages if "starry_copy" in p.name], "a build cut short left a package"
    for package in packages:  # on a fast CPU the shipped family can finish before the stop: then it is whole
        prebuilt.load(package)
    yours = (tmp_path / "studio" / "logs" / "prebuild_four_painters_starry_copy.log").read_text()
    assert "error" not in yours, yours  # it found the family in the studio's folder


def test_prebuild_refuses_a_painter_without_checkpoint(tmp_path):
    onnx_only = tmp_path / "only_onnx.onnx"
    shutil.copy(ROOT / "checkpoints" / "four_painters_fast.onnx", onnx_only)
    result = run_cli("infer", "prebuild", str(onnx_only))
    assert_one_line_error(result, "needs the painter's .pt checkpoint", tmp_path)


def test_a_damaged_package_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, str(tmp_path))
    package = prebuilt.package_path(FAST, "fp32")
    package.parent.mkdir(parents=True)
    package.write_bytes(b"not a package")  # a disk that filled up while copying a cache, say
    with pytest.raises(prebuilt.PrebuildError, match="delete it and run python -m infer prebuild again"):
        open_network(PainterFiles(FAST, None, None), "prebuilt", "cpu", "fp32")


def test_the_prebuild_tip_names_what_would_be_built_for_what_ran(monkeypatch, tmp_path, tiny_painter):
    """A painter outside checkpoints/ by its path (the tip works from any folder, without --painters-dir), and
    a precision other than this machine's default with --precision: the command the tip gives builds what ran."""
    from infer import plan

    monkeypatch.setenv(prebuilt.CACHE_VARIABLE, str(tmp_path / "empty"))
    monkeypatch.setattr(plan, "_UNBUILT", set())
    monkeypatch.setattr(plan, "cpp_compiler_found", lambda: True)
    folder = tmp_path / "my painters"
    folder.mkdir()
    shutil.copy(tiny_painter, folder / "mine.pt")
    open_network(PainterFiles(folder / "mine.pt", None, None), precision="fp32")
    open_network(find_painter("four_painters_fast").files, precision="bf16")
    tip = plan.prebuild_tip()
    default = plan.default_precision(torch.device("cpu"), "prebuilt", True)
    fp32 = "" if default == "fp32" else " --precision fp32"
    bf16 = "" if default == "bf16" else " --precision bf16"
    assert f"python -m infer prebuild '{folder / 'mine.pt'}'{fp32}" in tip, tip
    assert f"python -m infer prebuild four_painters_fast{bf16}" in tip, tip
