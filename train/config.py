"""The training configuration: one dataclass, saved into every checkpoint and model card.

The command line is generated from the fields below, so each option's help text lives in one place.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nets.errors import UserError
from nets.options import OneLineErrorParser, add_dataclass_options, from_args, option

SWITCH_CHOICES = ("auto", "on", "off")
#: --antialias: the resampling of the network trained (nets.transformer.Architecture); "keep" is the --init's.
ANTIALIAS_CHOICES = ("keep", "none", "upsampling", "downsampling", "both")


class ConfigError(UserError):
    """Settings that cannot work together, reported as one line."""


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``7m``, ``1h30m`` -> seconds; ``""`` -> 0 (no limit)."""
    if not text:
        return 0.0
    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not match or not any(match.groups()):
        raise ConfigError(f"cannot read the duration {text!r}: write e.g. 90s, 7m or 1h30m")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass
class TrainConfig:
    style: list[str] = option(None, "style image(s) (the paintings); several train a family of painters in one network")
    photos: str = option(None, "folder of training photos, searched recursively")
    name: str = option("", "painter or family name; default: the style image's file name without extension "
                         "(required for a family)")
    out_dir: str = option("checkpoints", "where <name>.pt and the model card <name>.json are written")
    log_dir: str = option("runs", "TensorBoard logs and the resumable training state go to <log-dir>/<name>")
    val_photos: str = option("", "folder of photos to measure style/content distance on at the end (optional)")
    vgg_weights: str = option("", "VGG16 weight file or folder (default: $VGG_WEIGHTS, else torchvision's download)")
    image_size: int = option(256, "training crop size in px")
    style_size: int = option(512, "longest side of the style image in px; sets the scale of the brush strokes")
    style_crop: float = option(0.0, "fraction of the style images cut from each side (a frame or painted border)")
    batch_size: int = option(4, "photos per step (shared out among a family's painters in turn)")
    steps: int = option(40_000, "optimizer steps (Johnson et al.: 40k steps of 4 = 160k samples)")
    lr: float = option(1e-3, "Adam learning rate")
    content_weight: float = option(1.0, "weight of the content distance (relu2_2)")
    style_weight: list[float] = option([5.0], "weight of the style distance (Gram, relu1_2..relu4_3): one value, "
                                            "or one per style image")
    tv_weight: float = option(1.0, "weight of the total variation (smoothness) term")
    temporal_weight: float = option(0.0, "weight of the temporal term (ReCoNet luminance loss on frame pairs)")
    temporal_pairs: int = option(2, "frame pairs added to every step when the temporal weight is > 0")
    shift_weight: float = option(0.0, "weight of the shift term: a photo moved by up to 3 px (whole and sub-pixel "
                                    "moves) must be painted as its painting moved the same way")
    noise_weight: float = option(0.0, "weight of the noise term: a photo with sensor noise (σ = 2 levels) must be "
                                    "painted as the photo")
    light_weight: float = option(0.0, "weight of the light term: where the painting is light or dark follows the "
                                    "photo (lightness over 8×8 cells of the crop, less its mean)")
    antialias: str = option("keep", "anti-aliased resampling: bilinear upsampling, a low-pass before each "
                          "stride-2 convolution, or both (added to an --init's network as it is: a graft); "
                          "keep: as the --init, none without one", choices=ANTIALIAS_CHOICES)
    clips: str = option("", "video file or folder of clips / frame folders for real frame pairs (optional; "
                      "synthetic pairs from the photos are always used)")
    init: str = option("", "start from this painter file: naming all its painters' styles fine-tunes it; naming "
                         "some, or new ones (added to the family), trains only their instance-norm rows")
    seed: int = option(0, "random seed")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    amp: str = option("auto", "bfloat16 autocast: auto (on CUDA and CPUs with bf16 in hardware), on, off",
                    choices=SWITCH_CHOICES)
    channels_last: bool = option(False, "channels_last memory format (NCHW measured faster on an H100)")
    compile: str = option("auto", "torch.compile the training step: auto (on CUDA), on, off", choices=SWITCH_CHOICES)
    workers: int = option(4, "threads decoding the photos into memory at the start")
    time_limit: str = option("", "stop after training this long (e.g. 90s, 7m, 1h30m; set-up not counted) and "
                               "write the painter as at the last step; --resume continues")
    log_every: int = option(50, "steps between TensorBoard scalars")
    sample_every: int = option(500, "steps between sample images in TensorBoard")
    checkpoint_every: int = option(500, "steps between resumable checkpoints")
    val_size: int = option(256, "longest side of the validation photos in px")
    resume: bool = option(False, "continue from <log-dir>/<name>/state.pt (settings come from the saved run)")
    overwrite: bool = option(False, "start over even if this painter or its run state already exists")

    def __post_init__(self) -> None:
        # Files written before families stored one style image and one style weight.
        if isinstance(self.style, str):
            self.style = [self.style]
        if isinstance(self.style_weight, int | float):
            self.style_weight = [float(self.style_weight)]
        if isinstance(self.amp, bool):  # a switch before: on meant "on CUDA"
            self.amp = "auto" if self.amp else "off"
        if self.style is not None and len(self.style_weight) not in (1, len(self.style)):
            raise ConfigError(f"--style-weight takes one value or one per style image ({len(self.style)}), "
                              f"not {len(self.style_weight)}")
        if not 0 <= self.style_crop < 0.5:
            raise ConfigError(f"--style-crop is a fraction of each side, from 0 to below 0.5, not {self.style_crop}")
        for flag, value, low in (("steps", self.steps, 1), ("batch-size", self.batch_size, 1),
                                 ("image-size", self.image_size, 16), ("style-size", self.style_size, 16)):
            if value < low:
                raise ConfigError(f"--{flag} must be at least {low}, not {value}")
        parse_duration(self.time_limit)  # a typo fails now, not when the limit is first checked
        for flag, weight in (("shift-weight", self.shift_weight), ("noise-weight", self.noise_weight)):
            if weight < 0:
                raise ConfigError(f"--{flag} must be 0 or more, not {weight}")
        if not self.lr > 0:
            raise ConfigError(f"--lr must be above 0, not {self.lr}")
        if self.name and (Path(self.name).name != self.name or self.name in (".", "..")):
            raise ConfigError(f"--name is a file name, not a path: {self.name!r} (use --out-dir and --log-dir)")

    @property
    def painter_names(self) -> list[str]:
        """One painter per style image, named after its file."""
        return [Path(style).stem for style in self.style]

    @property
    def painter_name(self) -> str:
        """The name of the file written: the family's ``--name``, or the one painter's."""
        return self.name or self.painter_names[0]

    def style_weights(self) -> list[float]:
        """One weight per style image."""
        return self.style_weight * len(self.style) if len(self.style_weight) == 1 else list(self.style_weight)

    @property
    def time_limit_s(self) -> float:
        return parse_duration(self.time_limit)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A config saved by this or an earlier version: settings added since take their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """One option per TrainConfig field; ``style`` and ``photos`` are required."""
    parser = OneLineErrorParser(prog=prog, description=description)
    add_dataclass_options(parser, TrainConfig)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return from_args(TrainConfig, args)
