"""Tiles that share one set of instance-norm statistics: no seams, any size, both engines."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from infer.networks import OnnxNetwork, TorchNetwork
from infer.painters import find_painter
from infer.stylizer import Stylizer
from infer.tiles import BYTES_PER_PIXEL, Tiling, boxes, parse_size, stylize_tiled, thumbnail
from tests.conftest import assert_one_line_error, run_cli, shared

MUNCH = np.eye(4, dtype=np.float32)[1]


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A landscape with bright sky over dark ground: tiles of it have very different statistics."""
    path = shared("data", "photos", "val", "bsds300_img_014.jpg")
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def networks() -> dict:
    files = find_painter("four_painters").files
    return {"torch": TorchNetwork(files.pt, torch.device("cpu")),
            "onnx": OnnxNetwork(files.onnx, torch.device("cpu"))}


def per_tile(network, frame: np.ndarray, core: int) -> np.ndarray:
    """The seam-making way: each tile normalised with its own statistics (what cutting frames by hand does)."""
    out = np.empty_like(frame)
    for rows, cols, core_rows, core_cols in boxes(*frame.shape[:2], core):
        styled = network.whole(np.ascontiguousarray(frame[rows, cols])[None], MUNCH[None])[0]
        out[rows, cols][core_rows, core_cols] = styled[core_rows, core_cols]
    return out


def seam_ratio(image: np.ndarray, core: int) -> float:
    """Mean step between neighbouring columns and rows at tile borders, over the mean step elsewhere."""
    steps_x = np.abs(np.diff(image.astype(int), axis=1)).mean((0, 2))  # step between column j and j+1
    steps_y = np.abs(np.diff(image.astype(int), axis=0)).mean((1, 2))
    at_x = np.zeros_like(steps_x, bool)
    at_x[core - 1::core] = True
    at_y = np.zeros_like(steps_y, bool)
    at_y[core - 1::core] = True
    border = np.concatenate([steps_x[at_x], steps_y[at_y]]).mean()
    elsewhere = np.concatenate([steps_x[~at_x], steps_y[~at_y]]).mean()
    return border / elsewhere


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_shared_statistics_tiles_equal_the_untiled_pass(networks, photo, engine):
    network = networks[engine]
    stats = network.statistics(photo[None], MUNCH[None])
    untiled = network.tile(photo[None], MUNCH[None], stats)[0]  # the whole frame, those statistics
    for core in (96, 160):
        tiled = stylize_tiled(photo, MUNCH, core, network.statistics, network.tile, stats=stats)
        assert np.abs(tiled.astype(int) - untiled).max() <= 1, core


def test_shared_statistics_leave_no_seam_where_per_tile_statistics_do(networks, photo):
    network = networks["onnx"]
    shared_tiles = stylize_tiled(photo, MUNCH, 96, network.statistics, network.tile)
    own_tiles = per_tile(network, photo, 96)
    plain = network.whole(photo[None], MUNCH[None])[0]
    assert seam_ratio(shared_tiles, 96) < 1.1 * seam_ratio(plain, 96)  # no more step at borders than anywhere
    assert seam_ratio(own_tiles, 96) > 1.3 * seam_ratio(plain, 96)  # the seams the thumbnail statistics avoid
    # And close to the plain full pass: the thumbnail's statistics are the frame's (this photo is small).
    assert np.abs(shared_tiles.astype(int) - plain).mean() < 1


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_statistics_measured_over_the_tiles_give_back_the_untiled_painting(networks, photo, engine):
    """Two different photos side by side, at a size that is no multiple of 4: a thumbnail's statistics leave the
    tiled painting levels away; those measured norm by norm over the tiles give the untiled one back."""
    other = np.asarray(Image.open(shared("data", "photos", "val", "bsds300_img_003.jpg")).convert("RGB"))
    frame = np.ascontiguousarray(np.concatenate([photo[:250, :190], other[:250, :193]], 1))  # 250×383
    network = networks[engine]
    untiled = network.whole(frame[None], MUNCH[None])[0].astype(int)
    exact = stylize_tiled(frame, MUNCH, 96, network.statistics, network.tile, measuring=network.measuring())
    small = np.asarray(Image.fromarray(frame).resize((128, 84), Image.Resampling.BOX))  # a thumbnail's statistics
    thumb = stylize_tiled(frame, MUNCH, 96, network.statistics, network.tile,
                          stats=network.statistics(small[None], MUNCH[None]))
    assert np.abs(exact - untiled).max() <= 2 and np.abs(exact - untiled).mean() < 0.05
    assert np.abs(thumb - untiled).mean() > 20 * np.abs(exact - untiled).mean()


#: One pass of a kind over a 1000×1000 frame in a fresh process: how far its memory rose above where it began,
#: bytes a pixel (the high-water mark reset first, so that loading cannot hide the pass's own peak).
PASS_MEMORY = """
import re, sys, numpy as np, torch
from infer.networks import TorchNetwork
from infer.painters import find_painter
def kb(field):
    return int(re.search(rf"{field}:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
network = TorchNetwork(find_painter("four_painters").files.pt, torch.device("cpu"), "fp32")
weights, small = np.eye(4, dtype=np.float32)[1][None], np.zeros((1, 256, 256, 3), np.uint8)
stats = network.statistics(small, weights)
network.tile(small, weights, stats)
measuring = network.measuring()
measuring.measure(small, weights, {}, (0, 256, 0, 256, 256), 0)  # everything loaded and warm
frame = np.random.default_rng(0).integers(0, 255, (1, 1000, 1000, 3), dtype=np.uint8)
open("/proc/self/clear_refs", "w").write("5")
before = kb("VmRSS")
if sys.argv[1] == "tile":
    network.tile(frame, weights, stats)
else:  # the first norm's measuring pass: its input is the biggest (32 maps at full resolution)
    measuring.measure(frame, weights, {}, (0, 1000, 0, 1000, 1000), 0)
print((kb("VmHWM") - before) * 1024 / 1e6)
"""


def test_a_pass_that_measures_a_tile_keeps_to_the_memory_its_size_was_chosen_for():
    """Tiles are sized so that a pass over one takes at most ``bytes_per_pixel``; the passes that measure the
    frame's statistics run on the same tiles, so they must keep to it too. The first norm's took 620–665 bytes
    a pixel in fp32 with its 32 full-resolution maps copied to float64 and squared whole (the whole measuring
    took 1.4–1.5× a painting pass, over the 1100 budgeted: 2.70 GB for an 8000×6000 photo); map by map, ~120,
    against ~810 for a painting pass."""
    used = {kind: float(subprocess.run([sys.executable, "-c", PASS_MEMORY, kind], capture_output=True, text=True,
                                       check=True).stdout.split()[-1]) for kind in ("tile", "measure")}
    assert 0 < used["tile"] < BYTES_PER_PIXEL["torch"], used  # what an fp32 PyTorch network's tiles are sized for
    assert used["measure"] < 0.4 * used["tile"], used


def test_both_engines_tile_alike(networks, photo):
    results = [stylize_tiled(photo, MUNCH, 128, n.statistics, n.tile) for n in networks.values()]
    assert np.abs(results[0].astype(int) - results[1]).max() <= 2


@pytest.mark.slow
def test_tiling_engages_for_a_frame_over_the_budget_and_never_raises(photo, monkeypatch):
    calls = []
    stylizer = Stylizer("munch_the_scream", device="cpu", tiling=Tiling(max_memory=200_000_000))
    network = stylizer.network
    original = network.tile
    monkeypatch.setattr(network, "tile", lambda *args: calls.append(args[0].shape) or original(*args))
    big = np.asarray(Image.fromarray(photo).resize((960, 640)))
    out = stylizer.image(big)
    assert out.shape == big.shape and len(calls) > 4  # cut into tiles
    assert max(shape[1] * shape[2] for shape in calls) * network.bytes_per_pixel <= 100_000_000  # with margins: half
    calls.clear()
    stylizer.image(np.asarray(Image.fromarray(photo).resize((120, 80))))
    assert calls == []  # a small frame runs whole
    tiny_budget = Stylizer("munch_the_scream", device="cpu", tiling=Tiling(max_memory=1000))
    assert tiny_budget.image(big).shape == big.shape  # tiles never get smaller than 128 px: still works


def test_thumbnails_and_boxes_cover_the_frame():
    frame = np.zeros((1000, 1500, 3), np.uint8)
    assert thumbnail(frame, 600).shape == (400, 600, 3) and thumbnail(frame, 4000) is frame
    assert thumbnail(frame, pixels=600 * 400).shape == (400, 600, 3)
    assert thumbnail(frame, pixels=10).shape == (341, 512, 3)  # never below MIN_THUMBNAIL
    covered = np.zeros((1000, 1500), int)
    for rows, cols, core_rows, core_cols in boxes(1000, 1500, 300):
        assert rows.start % 4 == 0 and cols.start % 4 == 0  # the network's stride-2 grid stays aligned
        covered[rows, cols][core_rows, core_cols] += 1
    assert covered.min() == covered.max() == 1  # every pixel in exactly one core


@pytest.mark.slow
def test_the_cli_tiles_on_request_and_reads_memory_sizes(photo, tmp_path):
    src = tmp_path / "photo.png"
    Image.fromarray(photo[:200, :300]).save(src)
    for args in (["--tile", "96"], ["--max-memory", "40M"]):
        out = tmp_path / f"out{args[0]}.png"
        result = run_cli("infer", "image", str(src), "-m", "munch_the_scream", "-o", str(out), *args)
        assert result.returncode == 0, result.stderr
        assert Image.open(out).size == (300, 200)
    assert parse_size("3G") == 3 * 2**30 and parse_size("500MB") == 500 * 2**20 and parse_size("1024") == 1024
    bad = run_cli("infer", "image", str(src), "-m", "munch_the_scream", "-o", str(tmp_path / "x.png"),
                  "--max-memory", "lots")
    assert_one_line_error(bad, "cannot read the size 'lots'", tmp_path)
