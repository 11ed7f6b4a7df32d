import subprocess
import sys

from PIL import Image

from infer.engines import CHECKPOINTS
from tests.conftest import ROOT


def test_demo_stylises_sample_photos_with_every_shipped_painter(tmp_path):
    painters = sorted(p.stem for p in CHECKPOINTS.glob("*.pt"))
    assert painters, "no painter ships in checkpoints/"
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "-o", str(tmp_path), "--size", "96"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    outputs = sorted(p.name for p in tmp_path.glob("*.jpg"))
    assert "contact_sheet.jpg" in outputs
    assert len(outputs) == 4 * len(painters) + 1
    with Image.open(tmp_path / "contact_sheet.jpg") as sheet:
        assert sheet.width > 96 * len(painters)
