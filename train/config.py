"""The training configuration: one dataclass, saved into every checkpoint and model card.

The command line is generated from the fields below, so each option's help text lives in one place.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any, get_type_hints


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    style: str = _opt(None, "style image (the painting)")
    photos: str = _opt(None, "folder of training photos, searched recursively")
    name: str = _opt("", "painter name; default: the style image's file name without extension")
    out_dir: str = _opt("checkpoints", "where <name>.pt and the model card <name>.json are written")
    log_dir: str = _opt("runs", "TensorBoard logs and the resumable training state go to <log-dir>/<name>")
    val_photos: str = _opt("", "folder of photos to measure style/content distance on at the end (optional)")
    vgg_weights: str = _opt("", "VGG16 weight file or folder (default: $VGG_WEIGHTS, else torchvision's download)")
    image_size: int = _opt(256, "training crop size in px")
    style_size: int = _opt(512, "longest side of the style image in px; sets the scale of the brush strokes")
    batch_size: int = _opt(4, "photos per step")
    steps: int = _opt(40_000, "optimizer steps (Johnson et al.: 40k steps of 4 = 160k samples)")
    lr: float = _opt(1e-3, "Adam learning rate")
    content_weight: float = _opt(1.0, "weight of the content distance (relu2_2)")
    style_weight: float = _opt(5.0, "weight of the style distance (Gram, relu1_2..relu4_3)")
    tv_weight: float = _opt(1.0, "weight of the total variation (smoothness) term")
    temporal_weight: float = _opt(0.0, "weight of the temporal term (ReCoNet luminance loss on frame pairs)")
    temporal_pairs: int = _opt(2, "frame pairs added to every step when the temporal weight is > 0")
    clips: str = _opt("", "video file or folder of clips / frame folders for real frame pairs (optional; "
                      "synthetic pairs from the photos are always used)")
    init: str = _opt("", "start from this painter's weights (.pt) instead of random ones")
    seed: int = _opt(0, "random seed")
    device: str = _opt("auto", "auto, cpu, cuda or cuda:N")
    amp: bool = _opt(True, "bfloat16 mixed precision and channels_last on CUDA (ignored on the CPU)")
    workers: int = _opt(2, "data loading processes")
    log_every: int = _opt(50, "steps between TensorBoard scalars")
    sample_every: int = _opt(500, "steps between sample images in TensorBoard")
    checkpoint_every: int = _opt(500, "steps between resumable checkpoints")
    val_size: int = _opt(256, "longest side of the validation photos in px")
    resume: bool = _opt(False, "continue from <log-dir>/<name>/state.pt (settings come from the saved run)")
    overwrite: bool = _opt(False, "start over even if this painter or its run state already exists")

    @property
    def painter_name(self) -> str:
        from pathlib import Path

        return self.name or Path(self.style).stem

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (exit status 2), like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """One option per TrainConfig field; ``style`` and ``photos`` are required."""
    parser = OneLineErrorParser(
        prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    hints = get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=f.metadata["help"])
        else:
            required = f.default is None
            parser.add_argument(flag, type=kind, default=f.default, required=required, help=f.metadata["help"])
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
