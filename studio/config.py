"""StudioConfig: every setting of ``python -m studio`` (its options are generated from the fields)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from nets.errors import UserError
from nets.options import option

#: Where ../shared (photos to train on, VGG weights) is looked for when the options do not say.
SHARED = Path(os.environ.get("STYLE_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))


class StudioConfigError(UserError):
    """A studio setting that cannot work."""


@dataclass
class StudioConfig:
    host: str = option("127.0.0.1", "address to listen on (0.0.0.0: every network the machine is on; there is no "
                                    "password, so only on networks you trust)")
    port: int = option(7860, "port to listen on")
    output: str = option("studio_output", "folder for results, uploads and your painters (created if missing)")
    device: str = option("auto", "auto, cpu, cuda or cuda:N: where every job runs")
    photos: str = option("", "training photos for 'Your painter' (default: ../shared/data/photos/train_short256)")
    vgg_weights: str = option("", "VGG weights for 'Your painter' and 'Compare' (default: ../shared/weights, else "
                                  "$VGG_WEIGHTS, else torchvision's download)")
    max_side: int = option(4096, "longest side the studio paints a photo at; bigger photos are scaled down to it "
                                 "(the command line paints any size)")
    max_clip_side: int = option(1920, "longest side the studio renders a clip at; bigger clips are scaled down")
    prebuild: bool = option(True, "on a CPU, build the shipped painters for this machine in the background at "
                                  "start, once (a few minutes on 2 cores), and each family made in the page; "
                                  "photos, previews and the live view then paint 2-4x faster")

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise StudioConfigError(f"--port is from 1 to 65535, not {self.port}")
        if self.max_side < 64 or self.max_clip_side < 64:
            raise StudioConfigError("--max-side and --max-clip-side must be at least 64 px")
        if not self.photos and (SHARED / "data" / "photos" / "train_short256").is_dir():
            self.photos = str(SHARED / "data" / "photos" / "train_short256")
        if not self.vgg_weights and (SHARED / "weights").is_dir():
            self.vgg_weights = str(SHARED / "weights")

    @property
    def out(self) -> Path:
        return Path(self.output).resolve()

    @property
    def uploads(self) -> Path:
        """Where the browser's uploads land (Gradio's temporary folder, set before Gradio is imported)."""
        return self.out / "uploads"

    @property
    def painters(self) -> Path:
        """Families made in the studio: searched for painters before checkpoints/."""
        return self.out / "painters"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
