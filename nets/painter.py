"""The painter checkpoint format: a trained TransformerNet as plain tensors plus the config that made it.

A painter file is a dict ``{"format", "name", "model", "config", "step", "metrics"}`` of tensors, strings
and numbers, saved with ``torch.save`` and loaded with ``weights_only=True`` so that opening somebody
else's painter can never run code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from nets.files import atomic_path
from nets.transformer import TransformerNet

FORMAT = "painter/1"


class PainterFileError(ValueError):
    """A file is missing or is not a painter checkpoint."""


def save_painter(
    path: str | os.PathLike,
    model: TransformerNet,
    name: str,
    config: dict[str, Any],
    step: int,
    metrics: dict[str, float] | None = None,
) -> None:
    """Write a painter atomically, weights as fp32 on the CPU whatever device trained them."""
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "name": name, "model": state, "config": config, "step": step, "metrics": metrics or {}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_painter(path: str | os.PathLike) -> dict[str, Any]:
    """The painter file's dict, checked; safe on untrusted files (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise PainterFileError(f"no such painter file: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PainterFileError(f"{path} is not a painter checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise PainterFileError(f"{path} is not a painter checkpoint (format {FORMAT} expected)")
    return payload


def load_painter(path: str | os.PathLike) -> tuple[TransformerNet, dict[str, Any]]:
    """A ready-to-run TransformerNet in eval mode and the painter's dict (name, config, metrics)."""
    payload = read_painter(path)
    model = TransformerNet()
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        raise PainterFileError(f"{path} holds weights of another network: {str(exc).splitlines()[0]}") from None
    return model.eval(), payload
