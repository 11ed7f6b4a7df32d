"""The installed ``painters`` command (scripts/setup.sh installs the project editable): every command from
any folder, with the shipped painters found by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.conftest import shared

PAINTERS = Path(sys.executable).parent / "painters"


def painters(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert PAINTERS.is_file(), f"{PAINTERS} is missing: scripts/setup.sh installs it (pip install -e .)"
    return subprocess.run([str(PAINTERS), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_painters_command_works_from_any_folder(tmp_path):
    helped = painters("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "image" in helped.stdout and "train" in helped.stdout
    listed = painters("list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for name in ("vangogh_starry_night", "munch_the_scream", "hokusai_great_wave", "seurat_sunday_on_la_grande_jatte"):
        assert name in listed.stdout
    photo = shared("data", "photos", "val", "bsds300_img_001.jpg")
    painted = painters("image", str(photo), "-m", "munch_the_scream", "-o", "munch.png", "--max-size", "96",
                       cwd=tmp_path)
    assert painted.returncode == 0, painted.stderr
    with Image.open(tmp_path / "munch.png") as img:
        assert max(img.size) == 96
    trained = painters("train", "--help", cwd=tmp_path)
    assert trained.returncode == 0 and "--style" in trained.stdout
    wrong = painters("paint", cwd=tmp_path)
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines() == [
        "painters: error: unknown command 'paint'; one of image, video, export, prebuild, reference, compare, train, "
        "distill, list"]
