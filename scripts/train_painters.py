"""Train, export and evaluate the shipped painters: one family of four, with one command.

Trains the family (temporal term on) unless its model card already holds exactly these settings, then
adds to every painter's record the warping error on an evaluation clip (the clip's own is the floor),
and exports the family to ONNX (fp32; fp16 too on a GPU, where it is verified on the CUDA provider).

    # CPU, reduced scale (128 px crops, style images at 256 px):
    python -m scripts.train_painters --preset cpu --styles ../shared/data/styles \\
        --photos ../shared/data/photos/train_short256 --val-photos ../shared/data/photos/val \\
        --clips ../shared/data/video/big_buck_bunny_320x176.mp4 --vgg-weights ../shared/weights \\
        --eval-clip ../shared/data/video/cockatoo_1280x720.mp4
    # Full scale runs on a GPU as scripts/gpu/train_job.py (sized for a short lease); finish its family here:
    python -m scripts.train_painters --finish checkpoints/four_painters.pt \\
        --eval-clip ../shared/data/video/cockatoo_1280x720.mp4
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from infer.engines import painter_engines
from infer.export import (
    ExportError,
    export_painter,
    verification_photos,
)
from infer.networks import TorchNetwork
from nets.device import pick_device
from nets.images import read_clip
from nets.metrics import warping_error
from nets.painter import ModelCard, amend_painters, read_painter
from train.config import TrainConfig
from train.trainer import train_or_reuse

#: The family, in row order, with style weights balanced on the CPU: each painter's weight shrinks with the
#: square root of how far photos start from its painting (identity style distance on the validation photos
#: of the CPU painters: 0.705, 1.027, 0.819, 2.289), so no painter's gradient dominates the shared layers.
FAMILY = {
    "vangogh_starry_night": 5.0,
    "munch_the_scream": 4.0,
    "hokusai_great_wave": 4.5,
    "seurat_sunday_on_la_grande_jatte": 3.0,
}
FAMILY_NAME = "four_painters"
#: cpu: what two cores manage in hours; gpu: the settings of scripts/gpu/train_job.py.
PRESETS = {
    "gpu": {"image_size": 256, "style_size": 512, "batch_size": 32, "temporal_pairs": 8, "steps": 6_000},
    "cpu": {"image_size": 128, "style_size": 256, "batch_size": 4, "temporal_pairs": 2, "steps": 2_000},
}


def finish(painter: Path, eval_clip: Path, eval_width: int) -> dict:
    """Warping error of every painter on ``eval_clip`` into the painter file and its card, then ONNX files."""
    device = pick_device("auto")
    frames = read_clip(eval_clip, eval_width)
    floor = warping_error(frames, frames)[0]
    records = read_painter(painter)["painters"]
    for record, engine in zip(records, painter_engines(TorchNetwork(painter, device)), strict=True):
        styled = [engine(frame[None])[0] for frame in frames]
        size = f"{frames[0].shape[1]}x{frames[0].shape[0]}"
        record["metrics"] |= {"eval_clip": eval_clip.name, "eval_clip_size": size,
                              "warping_error": warping_error(frames, styled)[0], "input_warping_error": floor}
    amend_painters(painter, records)
    exports = {}
    for fp16 in (False, True) if device.type == "cuda" else (False,):  # fp16 pays off only on GPUs
        onnx = painter.with_suffix(".fp16.onnx" if fp16 else ".onnx")
        try:
            report = export_painter(painter, onnx, verification_photos(), fp16=fp16)
            exports[report.precision] = {"file": onnx.name, "max_diff": report.max_diff,
                                         "providers": report.providers}
        except ExportError as exc:  # fp16 may not verify on every provider: ship fp32 only then
            exports["fp16" if fp16 else "fp32"] = {"rejected": str(exc)}
    card = ModelCard.read(painter.with_suffix(".json"))
    card.painters, card.exports = records, exports
    card.write(painter.with_suffix(".json"))
    return card.to_dict()


def painters_table(card: dict) -> str:
    """A markdown table of a model card's painters: validation numbers, and warping error where measured."""
    lines = ["| painter | val style (photo → painter) | val content | warping error (input floor) |",
             "|---|---|---|---|"]
    for record in card["painters"]:
        m = record["metrics"]
        flicker = f"{m['warping_error']:.5f} ({m['input_warping_error']:.5f})" if "warping_error" in m else "–"
        lines.append(f"| {record['name']} | {m.get('val_identity_style', math.nan):.3f} → "
                     f"{m.get('val_style', math.nan):.3f} | {m.get('val_content', math.nan):.3f} | {flicker} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finish", type=Path, default=None, help="only evaluate and export this trained family")
    parser.add_argument("--preset", choices=PRESETS, default="cpu")
    parser.add_argument("--styles", type=Path, help="folder holding the style images")
    parser.add_argument("--photos")
    parser.add_argument("--val-photos")
    parser.add_argument("--clips", default="", help="real clips for training pairs (optional)")
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--eval-clip", type=Path, required=True)
    parser.add_argument("--eval-width", type=int, default=320, help="the evaluation clip is scaled to this width")
    parser.add_argument("--temporal-weight", type=float, default=30.0)
    parser.add_argument("--style-crop", type=float, default=0.03, help="cuts Seurat's painted border off")
    parser.add_argument("--steps", type=int, default=None, help="override the preset's steps")
    parser.add_argument("--out-dir", type=Path, default=Path("checkpoints"))
    parser.add_argument("--log-dir", default="runs")
    args = parser.parse_args()

    painter = args.finish
    if painter is None:
        if not (args.styles and args.photos and args.val_photos):
            parser.error("training needs --styles, --photos and --val-photos")
        preset = PRESETS[args.preset] | ({"steps": args.steps} if args.steps else {})
        cfg = TrainConfig(
            style=[str(args.styles / f"{name}.jpg") for name in FAMILY], style_weight=list(FAMILY.values()),
            name=FAMILY_NAME, photos=args.photos, val_photos=args.val_photos, clips=args.clips,
            vgg_weights=args.vgg_weights, out_dir=str(args.out_dir), log_dir=args.log_dir,
            temporal_weight=args.temporal_weight, style_crop=args.style_crop, overwrite=True, **preset)
        train_or_reuse(cfg)
        painter = args.out_dir / f"{FAMILY_NAME}.pt"
    card = finish(painter, args.eval_clip, args.eval_width)

    exported = ", ".join(k for k, v in card["exports"].items() if "rejected" not in v)
    print(f"{card['name']}: {card['device']}, {card['steps']} steps × {card['config']['batch_size']}, "
          f"{card['wall_time_s']:.0f} s; exports: {exported}")
    print(painters_table(card))


if __name__ == "__main__":
    main()
