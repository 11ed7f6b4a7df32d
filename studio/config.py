"""StudioConfig: every setting of ``python -m studio`` (its options are generated from the fields)."""

from __future__ import annotations

import dataclasses
import ipaddress
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
    host: str = option("127.0.0.1", "address to listen on (0.0.0.0: every network the machine is on; give a "
                                    "--password there, and only on networks you trust)")
    password: str = option("", "a password the page asks for (user name: painter); default: $STUDIO_PASSWORD, "
                               "else none (fine on 127.0.0.1, where only this machine reaches the page)")
    port: int = option(7860, "port to listen on")
    output: str = option("studio_output", "folder for results, uploads and your painters (created if missing)")
    device: str = option("auto", "auto, cpu, cuda or cuda:N: where every job runs")
    photos: str = option("", "training photos for 'Your painter' (default: ../shared/data/photos/train_short256)")
    vgg_weights: str = option("", "VGG weights for 'Your painter' and 'Compare' (default: ../shared/weights, else "
                                  "$VGG_WEIGHTS, else torchvision's download)")
    max_side: int = option(4096, "longest side the studio paints a photo at; bigger photos are scaled down to it "
                                 "(the command line paints any size)")
    max_clip_side: int = option(1920, "longest side the studio renders a clip at; bigger clips are scaled down")
    max_upload_mb: int = option(1024, "the largest file the page accepts, in MB (a bigger upload is refused)")
    keep_uploads_hours: float = option(24, "hours an upload (and Gradio's copies of previews and results) is kept "
                                           "in <output>/uploads before it is removed; your results are never removed")
    prebuild: bool = option(True, "on a CPU, build the shipped painters for this machine in the background at "
                                  "start, once (a few minutes on 2 cores), and each family made in the page; "
                                  "photos, previews and the live view then paint 2-4x faster")

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise StudioConfigError(f"--port is from 1 to 65535, not {self.port}")
        if self.max_side < 64 or self.max_clip_side < 64:
            raise StudioConfigError("--max-side and --max-clip-side must be at least 64 px")
        if self.max_upload_mb < 1:
            raise StudioConfigError(f"--max-upload-mb must be at least 1, not {self.max_upload_mb}")
        if not self.keep_uploads_hours > 0:
            raise StudioConfigError(f"--keep-uploads-hours must be above 0, not {self.keep_uploads_hours}")
        self.password = self.password or os.environ.get("STUDIO_PASSWORD", "")
        if not self.photos and (SHARED / "data" / "photos" / "train_short256").is_dir():
            self.photos = str(SHARED / "data" / "photos" / "train_short256")
        if not self.vgg_weights and (SHARED / "weights").is_dir():
            self.vgg_weights = str(SHARED / "weights")

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the page."""
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    def exposure_warning(self) -> str:
        """One line where the page can be reached from elsewhere with no password; else ""."""
        if self.loopback or self.password:
            return ""
        return (f"the studio listens on {self.host} with no password: anyone who can reach this machine can use it, "
                f"read its results and fill its disk; give --password (or $STUDIO_PASSWORD), or serve on 127.0.0.1")

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
