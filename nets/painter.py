"""The painter checkpoint format: a trained TransformerNet as plain tensors plus the config that made it.

A painter file holds one painter or a family of painters that share one network (``painter/2``)::

    {"format": "painter/2", "name": the file's painter or family name, "model": state dict,
     "painters": [one record per (γ, β) row: {"name", "style_image", "style_image_sha256", "style_size",
                  "style_crop", "style_weight", "metrics": {metric: value}}],
     "architecture": the network's size (``nets.transformer.Architecture``; absent: the default),
     "config": the settings of the run that wrote it, "step": int,
     "history": [every training run that led to it, oldest first: settings, steps, time, device]}

saved with ``torch.save`` and loaded with ``weights_only=True`` so that opening somebody else's painter
can never run code. ``painter/1`` files (one painter, metrics not keyed by painter) still load, as a
family of one with the same output.

Beside it, ``<name>.json`` is the model card (:class:`ModelCard`): the same painter records, the run that
wrote the file, its history, and what scripts add later (ONNX exports, a clip's warping error).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nets.errors import UserError
from nets.files import atomic_path, write_json
from nets.transformer import Architecture, TransformerNet

FORMAT = "painter/2"
_V1 = "painter/1"


class PainterFileError(UserError):
    """A file is missing or is not a painter checkpoint."""


def save_painter(path: str | os.PathLike, model: TransformerNet, name: str, painters: list[dict[str, Any]],
                 config: dict[str, Any], step: int, history: list[dict[str, Any]] | None = None) -> None:
    """Write a painter or family atomically, weights as fp32 on the CPU whatever device trained them."""
    if len(painters) != model.painters:
        raise ValueError(f"{len(painters)} painter records for a network of {model.painters} painters")
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "name": name, "painters": painters, "model": state,
               "architecture": model.architecture.to_dict(), "config": config, "step": step, "history": history or []}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def amend_painters(path: str | os.PathLike, painters: list[dict[str, Any]]) -> None:
    """Rewrite a painter file's records (names, style images, metrics) in place; weights stay as they are.

    How scripts add what they measure after training (a clip's warping error, say) to the file itself.
    """
    payload = read_painter(path)
    if [p["name"] for p in painters] != painter_names(payload):
        raise ValueError("amended records must keep the painters and their order")
    with atomic_path(path) as tmp:
        torch.save(payload | {"painters": painters}, tmp)


def painter_names(payload: dict[str, Any]) -> list[str]:
    """The painters of a painter file's dict, in the order of their (γ, β) rows."""
    return [p["name"] for p in payload["painters"]]


def _upgrade_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """A painter/1 dict as a family of one: instance-norm (γ, β) vectors become 1×C rows."""
    expected = TransformerNet(1).state_dict()
    model = {k: v[None] if k in expected and v.dim() == 1 and expected[k].dim() == 2 else v
             for k, v in payload["model"].items()}
    config = payload["config"]
    painter = {"name": payload["name"], "style_image": config.get("style"), "style_image_sha256": None,
               "style_size": config.get("style_size"), "style_crop": 0.0, "style_weight": config.get("style_weight"),
               "metrics": payload.get("metrics", {})}
    run = {"steps": payload.get("step"), "config": config}
    return {k: v for k, v in payload.items() if k != "metrics"} | {"format": FORMAT, "painters": [painter],
                                                                   "model": model, "history": [run]}


def read_painter(path: str | os.PathLike) -> dict[str, Any]:
    """The painter file's dict, checked and in the current format; safe on untrusted files."""
    path = Path(path)
    if not path.is_file():
        raise PainterFileError(f"no such painter file: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PainterFileError(f"{path} is not a painter checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") not in (FORMAT, _V1):
        raise PainterFileError(f"{path} is not a painter checkpoint (format {FORMAT} expected)")
    needed = ("name", "model", "config") + (("painters",) if payload["format"] == FORMAT else ())
    missing = [key for key in needed if key not in payload]
    if missing or not isinstance(payload["model"], dict):
        raise PainterFileError(f"{path} is a damaged painter checkpoint (no {', '.join(missing) or 'weights'})")
    payload = _upgrade_v1(payload) if payload["format"] == _V1 else payload
    if not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in payload["painters"]):
        raise PainterFileError(f"{path} is a damaged painter checkpoint (a painter without a name)")
    return payload


def load_painter(path: str | os.PathLike) -> tuple[TransformerNet, dict[str, Any]]:
    """A ready-to-run TransformerNet in eval mode and the painter file's dict (names, config, metrics)."""
    payload = read_painter(path)
    try:
        model = TransformerNet(len(payload["painters"]), Architecture.from_dict(payload.get("architecture")))
        model.load_state_dict(payload["model"])
    except (TypeError, RuntimeError) as exc:
        raise PainterFileError(f"{path} holds weights of another network: {str(exc).splitlines()[0]}") from None
    return model.eval(), payload


@dataclass
class ModelCard:
    """The model card: what a painter file is, how it was made and how well it does, for people to read.

    Written by the trainer, completed by scripts through :meth:`read` and :meth:`write`. On disk the
    fields of ``run`` (steps, time, device, config …) sit at the top level beside ``name`` and ``painters``.
    """

    name: str
    painters: list[dict[str, Any]]  # one record per (γ, β) row, as in the painter file
    run: dict[str, Any]  # the run that wrote the painter file
    history: list[dict[str, Any]]  # every run behind it, oldest first (the last is ``run``)
    exports: dict[str, Any] = field(default_factory=dict)  # ONNX files written from it, and their checks

    def to_dict(self) -> dict[str, Any]:
        card = {"name": self.name, "painters": self.painters} | self.run | {"history": self.history}
        return card | ({"exports": self.exports} if self.exports else {})

    @classmethod
    def from_dict(cls, card: dict[str, Any]) -> ModelCard:
        named = {f.name for f in dataclasses.fields(cls)} - {"run"}
        return cls(card["name"], card["painters"], {k: v for k, v in card.items() if k not in named},
                   card.get("history", []), card.get("exports", {}))

    @classmethod
    def read(cls, path: str | os.PathLike) -> ModelCard:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def write(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())
