"""Frozen VGG feature extractor that returns activations by name (``relu1_2``, ``relu4_3`` …).

The layer names are derived from torchvision's own ``vgg16().features`` / ``vgg19().features`` layout, so
a local weight file in that layout (full or truncated, fp16 or fp32) and torchvision's download both fit.
Inputs are RGB in [0, 1]; the ImageNet normalisation that both weight sets expect happens inside.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from nets.errors import UserError

#: Environment variable naming a weight file, or a folder holding ``vgg16*.pth`` / ``vgg19*.pth``.
WEIGHTS_ENV = "VGG_WEIGHTS"
ARCHS = ("vgg16", "vgg19")
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class VGGWeightsError(UserError):
    """The VGG weights could not be found, downloaded or loaded; the message says how to supply them."""


def layer_names(features: nn.Sequential) -> list[str]:
    """Name every module of a torchvision VGG ``features`` stack: conv1_1, relu1_1, …, pool1, conv2_1 …"""
    names, block, index = [], 1, 0
    for module in features:
        if isinstance(module, nn.Conv2d):
            index += 1
            names.append(f"conv{block}_{index}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{index}")
        else:
            names.append(f"pool{block}")
            block, index = block + 1, 0
    return names


def _resolve_file(arch: str, weights: str | os.PathLike | None) -> Path | None:
    """A file given directly, or the ``<arch>*.pth`` file inside a given folder; ``None`` if nothing given."""
    source = weights if weights is not None else os.environ.get(WEIGHTS_ENV)
    if not source:
        return None
    path = Path(source).expanduser()
    if path.is_dir():
        found = sorted(path.glob(f"{arch}*.pth")) + sorted(path.glob(f"{arch}*.pt"))
        if not found:
            raise VGGWeightsError(f"no {arch}*.pth file in the VGG weights folder {path}")
        return found[0]
    if not path.is_file():
        raise VGGWeightsError(f"VGG weights file not found: {path}")
    return path


def _load_state(arch: str, path: Path | None) -> dict[str, torch.Tensor]:
    if path is not None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch's own message would advise weights_only=False: never do that here
            raise VGGWeightsError(f"cannot read VGG weights from {path}: not a PyTorch weight file "
                                  f"({exc.__class__.__name__})") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise VGGWeightsError(f"{path} is not a VGG state dict (a painter file, perhaps?)")
        return state
    from torchvision import models  # here, not at the top: importing it costs every command 1.5 s

    enum = models.VGG16_Weights if arch == "vgg16" else models.VGG19_Weights
    try:
        with contextlib.redirect_stdout(sys.stderr):  # torch hub announces downloads on stdout, not a result
            return enum.IMAGENET1K_V1.get_state_dict(progress=True)
    except Exception as exc:
        raise VGGWeightsError(
            f"could not download torchvision's {arch} weights ({exc.__class__.__name__}: {exc}); "
            f"offline, give a local weight file or folder with --vgg-weights or the {WEIGHTS_ENV} environment variable"
        ) from exc


class VGGFeatures(nn.Module):
    """The VGG convolutional stack up to the deepest requested layer, frozen, in eval mode.

    ``weights`` is a file or folder; ``None`` falls back to ``$VGG_WEIGHTS`` and then to torchvision's
    download (cached in the torch hub folder), so real users need no extra step.
    """

    def __init__(self, arch: str, layers: Iterable[str], weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown VGG architecture {arch!r}; choose one of {', '.join(ARCHS)}")
        from torchvision import models  # here, not at the top: importing it costs every command 1.5 s

        full = (models.vgg16 if arch == "vgg16" else models.vgg19)(weights=None).features
        names = layer_names(full)
        self.layers = list(dict.fromkeys(layers))
        unknown = [name for name in self.layers if name not in names]
        if unknown:
            raise ValueError(f"{arch} has no layer(s) {', '.join(unknown)}")
        depth = max(names.index(name) for name in self.layers) + 1
        self.features = full[:depth]
        for module in self.features:
            if isinstance(module, nn.ReLU):
                module.inplace = False  # a stored conv activation must not be overwritten by its ReLU
        self._names = names[:depth]

        path = _resolve_file(arch, weights)
        state = {k.removeprefix("features."): v.float() for k, v in _load_state(arch, path).items()}
        needed = self.features.state_dict().keys()
        missing = [k for k in needed if k not in state]
        if missing:
            source = path or "torchvision's download"
            raise VGGWeightsError(
                f"{source} lacks {arch} weights for {', '.join(missing[:4])}: it stops before a requested layer "
                f"({', '.join(self.layers)})"
            )
        try:
            self.features.load_state_dict({k: state[k] for k in needed})
        except RuntimeError as exc:
            raise VGGWeightsError(f"{path or arch} does not hold {arch} weights: {exc}") from exc
        self.source = str(path) if path else f"torchvision {arch} IMAGENET1K_V1"

        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        """Stay in eval mode: the loss network is frozen whatever its owner does."""
        return super().train(False)

    def forward(self, x: torch.Tensor, layers: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """Activations of the requested layers (default: all of this extractor's) for RGB images in [0, 1].

        Stops after the deepest one asked for: content targets need only the shallow layers, which saves
        most of the arithmetic of a second VGG pass.
        """
        wanted = set(self.layers if layers is None else layers)
        out: dict[str, torch.Tensor] = {}
        x = (x - self.mean) / self.std
        for name, module in zip(self._names, self.features, strict=True):
            if len(out) == len(wanted):
                break
            x = module(x)
            if name in wanted:
                out[name] = x
        return out
