"""What every tab of the page shares: the settings, the painter library, the cancel switches, and the
family menus that a new painter must appear in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from nets.device import pick_device
from studio import prebuild
from studio.config import StudioConfig
from studio.jobs import Cancels
from studio.library import Library, families


@dataclass
class Studio:
    cfg: StudioConfig
    library: Library
    example: np.ndarray  # the photo each painter's gallery card shows it painting
    cancels: Cancels = field(default_factory=Cancels)
    family_menus: list[gr.Dropdown] = field(default_factory=list)  # refreshed when a family is added
    #: What each page (re)load fills in: a function and its output component(s)
    on_load: list[tuple[Callable[[], Any], Any]] = field(default_factory=list)

    @classmethod
    def create(cls, cfg: StudioConfig) -> Studio:
        from skimage import data  # a photo bundled with scikit-image: the gallery works offline

        example = np.asarray(Image.fromarray(data.chelsea()).resize((256, 168), Image.Resampling.LANCZOS))
        return cls(cfg, Library(cfg.device, cfg.out / "cards"), example)

    def family_names(self) -> list[str]:
        return [f.name for f in families()]

    def build_for_cpu(self, names: Sequence[str], log_name: str) -> prebuild.Build | None:
        """Build ``names`` for this CPU in the background (logged to logs/``log_name``); None where the
        studio paints on a GPU, was told not to build, or nothing is missing."""
        if not self.cfg.prebuild or pick_device(self.cfg.device).type != "cpu":
            return None
        return prebuild.in_background(names, self.cfg.out / "logs" / log_name, self.library.forget)

    def default_family(self) -> str:
        names = self.family_names()
        return "four_painters" if "four_painters" in names else names[0]
