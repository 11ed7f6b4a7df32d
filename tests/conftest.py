"""Shared fixtures: the real data and VGG weights in ../shared, painters, and how tests run commands.

Inference tests take their painters from the shipped family in checkpoints/ (``tiny_painter``,
``tiny_family``), so a trainer bug fails the training tests, not every inference test; the training
tests share ``trained_painter``, a real 20-step run. Set STYLE_SHARED to use a shared/ folder elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infer.prebuilt import CACHE_VARIABLE
from nets.painter import read_painter, save_painter
from nets.transformer import TransformerNet
from train.config import TrainConfig
from train.trainer import train

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STYLE_SHARED", ROOT.parent / "shared"))


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"test data missing: {path} (set STYLE_SHARED to the shared/ folder)")
    return path


def run_cli(module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m <module> args…`` from the project root, as a user runs it."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, expected: str, folder: Path) -> None:
    """Exit status 2, one error line naming the problem, no traceback, no temporary file left in ``folder``."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert [p.name for p in folder.iterdir() if ".part" in p.name] == []


@pytest.fixture(scope="session", autouse=True)
def painters_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty cache of prebuilt painters for the session: what this machine's user prebuilt must not change
    which engine ``auto`` picks in a test (tests/test_prebuilt.py builds into folders of its own)."""
    folder = tmp_path_factory.mktemp("painters_cache")
    os.environ[CACHE_VARIABLE] = str(folder)
    return folder


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    return shared("weights")


@pytest.fixture(scope="session")
def style_image() -> Path:
    return shared("data", "styles", "vangogh_starry_night.jpg")


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight real training photos: enough for batches, small enough to list quickly."""
    folder = tmp_path_factory.mktemp("photos")
    for path in sorted(shared("data", "photos", "train").glob("*.jpg"))[::63][:8]:
        shutil.copy(path, folder)
    return folder


@pytest.fixture(scope="session")
def val_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("val")
    for path in sorted(shared("data", "photos", "val").glob("*.jpg"))[:3]:
        shutil.copy(path, folder)
    return folder


def tiny_config(tmp: Path, style_image: Path, photo_dir: Path, weights_dir: Path, **overrides) -> TrainConfig:
    """64 px, batch 2: a real training run that takes seconds on two CPU cores."""
    settings = dict(
        style=str(style_image),
        photos=str(photo_dir),
        out_dir=str(tmp / "checkpoints"),
        log_dir=str(tmp / "runs"),
        vgg_weights=str(weights_dir),
        image_size=64,
        style_size=128,
        batch_size=2,
        steps=20,
        workers=0,
        log_every=5,
        sample_every=10,
        checkpoint_every=10,
        val_size=64,
        name="tiny",
    )
    return TrainConfig(**(settings | overrides))


@pytest.fixture(scope="session")
def trained_painter(tmp_path_factory, style_image, photo_dir, weights_dir, val_dir
                    ) -> tuple[Path, dict, TrainConfig]:
    """(painter file, model card, config) of a 20-step run at 64 px, shared by the training tests."""
    tmp = tmp_path_factory.mktemp("tiny")
    cfg = tiny_config(tmp, style_image, photo_dir, weights_dir, val_photos=str(val_dir))
    card = train(cfg)
    return Path(cfg.out_dir) / "tiny.pt", card, cfg


def shipped_painters(path: Path, rows: list[int], name: str) -> Path:
    """Some painters of the shipped family as a painter file of their own (style images as full paths)."""
    source = ROOT / "checkpoints" / "four_painters.pt"
    payload = read_painter(source)
    model = TransformerNet(len(rows))
    model.load_state_dict({k: v[rows] if v.dim() == 2 and k.endswith((".weight", ".bias")) else v
                           for k, v in payload["model"].items()})
    records = [payload["painters"][row] | {"style_image": str(shared("data", "styles",
                                                                   Path(payload["painters"][row]["style_image"]).name))}
               for row in rows]
    if len(rows) == 1:  # a lone painter is called as its file, as the trainer names it
        records[0]["name"] = name
    save_painter(path, model, name, records, payload["config"], payload["step"], payload["history"])
    return path


@pytest.fixture(scope="session")
def tiny_painter(tmp_path_factory) -> Path:
    """One painter ("tiny": the shipped Van Gogh), for the inference tests."""
    return shipped_painters(tmp_path_factory.mktemp("tiny_painter") / "tiny.pt", [0], "tiny")


@pytest.fixture(scope="session")
def tiny_family(tmp_path_factory) -> Path:
    """A family of two painters ("duo": the shipped Van Gogh and Munch), for the inference tests."""
    return shipped_painters(tmp_path_factory.mktemp("family") / "duo.pt", [0, 1], "duo")
