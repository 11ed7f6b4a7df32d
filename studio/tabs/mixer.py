"""The painter mixer every tab shares: a family menu and one slider per painter of it (the blend)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.context import Studio
from studio.library import family
from studio.uploads import slider

#: Sliders laid out per mixer; a family with fewer painters hides the rest.
MAX_PAINTERS = 8
#: The scene's-light slider's label (infer.controls.scene_light), in every tab that paints.
LIGHT_LABEL = "Scene's light (0: the painting's, 1: the photo's)"


class Mixer:
    """A family menu and its painters' sliders; ``inputs`` go into a handler, ``weights`` reads them back."""

    def __init__(self, studio: Studio, label: str = "Family of painters") -> None:
        first = studio.default_family()
        painters = family(first).painters
        self.menu = gr.Dropdown(studio.family_names(), value=first, label=label, interactive=True)
        studio.family_menus.append(self.menu)
        self.sliders = [slider(0, 1, value=1.0 if k == 0 else 0.0, step=0.05, interactive=True,
                                  label=painters[k] if k < len(painters) else f"painter {k + 1}",
                                  visible=k < len(painters)) for k in range(MAX_PAINTERS)]
        self.menu.change(self.show, self.menu, self.sliders, queue=False)

    @property
    def inputs(self) -> list[gr.components.Component]:
        return [self.menu, *self.sliders]

    @staticmethod
    def show(name: str) -> list[dict[str, Any]]:
        """The sliders of a family: its painters' names, the first at full weight."""
        painters = family(name).painters
        return [gr.update(label=painters[k] if k < len(painters) else "", visible=k < len(painters),
                          value=1.0 if k == 0 else 0.0) for k in range(MAX_PAINTERS)]

    @staticmethod
    def only(name: str, painter: str) -> list[dict[str, Any]]:
        """Every slider at 0 but ``painter``'s at 1 (a painter picked in the gallery)."""
        painters = family(name).painters
        return [gr.update(value=1.0 if k < len(painters) and painters[k] == painter else 0.0)
                for k in range(MAX_PAINTERS)]

    @staticmethod
    def weights(name: str, values: tuple[float, ...] | list[float]) -> dict[str, float]:
        """The family's painters and their slider values."""
        painters = family(name).painters
        return dict(zip(painters, values[:len(painters)], strict=True))
