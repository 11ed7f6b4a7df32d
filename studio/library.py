"""The painters the studio offers: every family in the painter folders (your own first, then checkpoints/),
each painter's painting and an example of its work, and networks kept open for previews and the live view."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from infer.controls import blend_weights, parse_blend
from infer.engines import Network, PainterEngine
from infer.painters import FAST_SUFFIX, every_painter_file, find_painter, read_painter_records, style_image_of
from infer.plan import open_network
from infer.stylizer import Stylizer
from nets.files import atomic_path
from nets.images import open_rgb

#: The side of a gallery card's two halves (the painting and the example).
CARD_SIDE = 256
#: The pixels a stream of frames is taken to paint: the live view runs until stopped, so it is painted as a
#: long clip is: by the prebuilt painter where one is built (a picture at once), else by the engine that
#: compiles for its frame size where the machine can compile.
STREAM_WORKLOAD = float("inf")


@dataclass(frozen=True)
class Family:
    """A painter file: its name (what ``-m`` takes), its path and its painters' names."""

    name: str
    path: Path
    painters: tuple[str, ...]


def families() -> list[Family]:
    """Every family a user can paint with, as painter names are looked up (fast versions left out: they
    repeat their family's painters and are picked by the fast switch, not by name)."""
    found = [Family(path.name.split(".")[0], path, tuple(names)) for path, names in every_painter_file().items()]
    return [f for f in found if not f.name.endswith(FAST_SUFFIX)]


def family(name: str) -> Family:
    for found in families():
        if found.name == name:
            return found
    raise KeyError(name)


def mix(weights: dict[str, float]) -> dict[str, float]:
    """The painters with a weight above 0 (``parse_blend`` normalises them); none: the first painter."""
    kept = {name: w for name, w in weights.items() if w > 0}
    return kept or {next(iter(weights)): 1.0}


def blend_text(weights: dict[str, float]) -> str:
    """A mix as ``--blend`` takes it, to show beside a result (and to paint the same on the command line)."""
    return ",".join(f"{name}={w:g}" for name, w in mix(weights).items())


class Library:
    """Open networks, kept per (family, fast), so a slider that moves re-paints without reloading."""

    def __init__(self, device: str, cards: Path) -> None:
        self.device, self.cards = device, cards
        self._networks: dict[tuple[str, bool, bool], Network] = {}
        self._lock = threading.Lock()

    def network(self, family_name: str, fast: bool, stream: bool = False) -> Network:
        """``stream``: for frames of one size without end (the live view), where compiling for that size pays."""
        with self._lock:  # two sessions asking at once open it once
            key = (family_name, fast, stream)
            if key not in self._networks:
                self._networks[key] = open_network(find_painter(family_name, fast=fast).files, device=self.device,
                                                   workload=STREAM_WORKLOAD if stream else 0)
            return self._networks[key]

    def forget(self) -> None:
        """Drop the open networks (painters prebuilt since they were opened): the next job opens them again."""
        with self._lock:
            self._networks.clear()

    def stylizer(self, family_name: str, weights: dict[str, float], strength: float = 1.0,
                 preserve_colors: bool = False, stroke_size: float = 1.0, fast: bool = False,
                 stream: bool = False, keep_light: float = 0.0) -> Stylizer:
        """The family's painters mixed by ``weights`` (names to shares) with the output controls."""
        network = self.network(family_name, fast, stream)
        names = [p["name"] for p in network.painters]
        shares = parse_blend(blend_text(weights))  # normalised as the command line's --blend is
        label = " + ".join(f"{name} {share:.0%}" for name, share in shares.items())
        engine = PainterEngine(network, blend_weights(shares, names, family_name), label)
        return Stylizer.of(engine, strength, preserve_colors, stroke_size, keep_light)

    def card(self, found: Family, painter: str, example: np.ndarray) -> Path:
        """The painting beside the painter's work on ``example``, as one picture (made once, then kept)."""
        path = self.cards / f"{found.name}--{painter}.jpg"
        if path.is_file():
            return path
        record = next(r for r in read_painter_records(found.path) if r["name"] == painter)
        style = style_image_of(record, found.path)
        painting = open_rgb(style) if style else Image.new("RGB", (CARD_SIDE, CARD_SIDE), "gray")
        halves = [painting, Image.fromarray(self.stylizer(found.name, {painter: 1.0}).image(example))]
        halves = [h.resize((round(h.width * CARD_SIDE / h.height), CARD_SIDE), Image.Resampling.LANCZOS)
                  for h in halves]
        sheet = Image.new("RGB", (halves[0].width + halves[1].width, CARD_SIDE), "white")
        sheet.paste(halves[0], (0, 0))
        sheet.paste(halves[1], (halves[0].width, 0))
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            sheet.save(tmp, quality=90)
        return path
