"""The project as a package: a wheel installs the ``painters`` command with the shipped painters as its data, and
works from any folder (no clone beside it, no package named ``scripts``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import ROOT, shared


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_lists_and_paints_from_another_folder(tmp_path):
    # Built from a copy: setuptools builds in the source folder, and a build/ left there would be packed again.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                "runs", "*_output", ".whl", ".gpu"))
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(wheels), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("painters-*.whl")
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    # The dependencies (torch, …) from this environment, by path: not its .pth files, so not its editable
    # install of the clone either.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.open(sorted(shared("data", "photos", "val").glob("*.jpg"))[0]).convert("RGB").resize((96, 64)).save(
        elsewhere / "photo.png")
    painters = str(fresh / "bin" / "painters")
    listed = subprocess.run([painters, "list"], cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert f"{site}/infer/checkpoints/four_painters.pt" in listed.stdout, listed.stdout  # the installed copy
    assert "munch_the_scream" in listed.stdout and str(ROOT / "checkpoints") not in listed.stdout
    painted = subprocess.run([painters, "image", "photo.png", "-m", "munch_the_scream", "-o", "painted.png",
                              "--engine", "torch"], cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert painted.returncode == 0, painted.stderr
    assert Image.open(elsewhere / "painted.png").size == (96, 64)
    assert not (site / "scripts").exists() and (site / "studio" / "tabs" / "live.js").is_file()
