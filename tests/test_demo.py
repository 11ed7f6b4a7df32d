import subprocess
import sys

import numpy as np
from PIL import Image

from infer.painters import painter_files
from tests.clips import decoded_frames
from tests.conftest import ROOT


def test_demo_stylises_a_clip_and_sample_photos_with_every_shipped_painter(tmp_path):
    painters = [name for names in painter_files(fast=False).values() for name in names]  # every painter of every family
    assert len(painters) >= 4, "the four painters do not ship in checkpoints/"
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "-o", str(tmp_path), "--size", "96", "--clip-width", "128",
         "--seconds", "0.5", "--fps", "12"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    outputs = sorted(p.name for p in tmp_path.glob("*.jpg"))
    assert "contact_sheet.jpg" in outputs
    assert len(outputs) == 4 * len(painters) + 1
    with Image.open(tmp_path / "contact_sheet.jpg") as sheet:
        assert sheet.width > 96 * len(painters)

    source = decoded_frames(tmp_path / "input.mp4")
    assert len(source) == 6 and source[0].shape == (72, 128, 3)
    assert np.abs(source[0].astype(int) - source[-1]).mean() > 10  # the camera moves
    clips = [f"{name}.mp4" for name in painters] + ["mosaic.mp4", "mashup.mp4"]
    for clip in clips:
        frames = decoded_frames(tmp_path / clip)
        assert len(frames) == 6 and frames[0].shape == source[0].shape, clip
        assert np.abs(frames[0].astype(int) - source[0]).mean() > 10, clip  # stylised, not copied
