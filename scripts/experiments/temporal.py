"""Does the temporal term cut flicker, and what does it cost in style? One run answers both.

Trains painters with identical settings except ``--temporal-weight`` (the first value is the baseline,
normally 0), optionally fine-tuning all of them from the same painter (``--init``), then measures on
each evaluation clip the warping error (Lai et al. 2018; flow on the input frames, occlusions masked) of
every painter's output and of the input clip itself (the floor), and the style/content distance on the
validation photos. Writes JSON and prints a table. A painter already trained in ``--work-dir`` with
exactly the same settings is reused, so an interrupted or extended experiment picks up where it was.

    python -m scripts.experiments.temporal --style ../shared/data/styles/vangogh_starry_night.jpg \\
        --photos ../shared/data/photos/train --val-photos ../shared/data/photos/val \\
        --clips ../shared/data/video/big_buck_bunny_320x176.mp4 --vgg-weights ../shared/weights \\
        --eval-clips ../shared/data/video/cockatoo_1280x720.mp4 ../shared/data/video/realshort_320x240.mp4 \\
        --init checkpoints/four_painters.pt --steps 600 --temporal-weights 0 100

Decided: the shipped family trains with the temporal term (weight 30: about −40% flicker for +10% style);
figures in README.md ("What it buys") and docs/bench/temporal/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from infer.engines import painter_engines
from infer.networks import TorchNetwork
from nets.device import pick_device
from nets.files import write_json
from nets.images import read_clip
from nets.metrics import warping_error
from train.config import TrainConfig
from train.trainer import train_or_reuse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", required=True)
    parser.add_argument("--photos", required=True)
    parser.add_argument("--val-photos", required=True)
    parser.add_argument("--clips", default="", help="real clips for training pairs (not the evaluation clips)")
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--eval-clips", nargs="+", type=Path, required=True)
    parser.add_argument("--eval-width", type=int, default=320, help="evaluation clips are scaled to this width")
    parser.add_argument("--init", default="", help="painter all runs start from (fine-tuning)")
    parser.add_argument("--temporal-weights", nargs="+", type=float, default=[0.0, 100.0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--style-size", type=int, default=256)
    parser.add_argument("--style-weight", type=float, default=5.0)
    parser.add_argument("--temporal-pairs", type=int, default=2, help="frame pairs per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run (photo order, pair motion)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False,
                        help="bf16 autocast on CUDA (off: fp32, as on the CPU)")
    parser.add_argument("--work-dir", type=Path, default=Path("runs/temporal_experiment"))
    parser.add_argument("--out", type=Path, default=Path("temporal_experiment.json"))
    args = parser.parse_args()

    painters = {}
    for weight in args.temporal_weights:
        name = f"temporal_{weight:g}"
        cfg = TrainConfig(
            style=args.style, photos=args.photos, val_photos=args.val_photos, clips=args.clips, name=name,
            vgg_weights=args.vgg_weights, out_dir=str(args.work_dir / "painters"), log_dir=str(args.work_dir / "runs"),
            image_size=args.image_size, style_size=args.style_size, style_weight=args.style_weight,
            steps=args.steps, temporal_weight=weight, temporal_pairs=args.temporal_pairs, init=args.init,
            amp=args.amp, seed=args.seed, overwrite=True,
        )
        card = train_or_reuse(cfg)
        painters[name] = {"temporal_weight": weight, "card": card, "path": args.work_dir / "painters" / f"{name}.pt"}

    device = pick_device("auto")
    results: dict = {"settings": vars(args) | {"eval_clips": [str(c) for c in args.eval_clips],
                                               "work_dir": str(args.work_dir), "out": str(args.out)},
                     "clips": {}, "painters": {}}
    trained = Path(args.style).stem  # with a family --init, the other painters are carried along untouched
    for name, painter in painters.items():
        metrics = next(p for p in painter["card"]["painters"] if p["name"] == trained)["metrics"]
        results["painters"][name] = {"temporal_weight": painter["temporal_weight"],
                                     "val_style": metrics["val_style"], "val_content": metrics["val_content"],
                                     "wall_time_s": painter["card"]["wall_time_s"]}
    for clip in args.eval_clips:
        frames = read_clip(clip, args.eval_width)
        floor, _ = warping_error(frames, frames)
        row = {"frames": len(frames), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}", "input": floor}
        for name, painter in painters.items():
            engine = painter_engines(TorchNetwork(painter["path"], device), trained)[0]
            styled = [engine(f[None])[0] for f in frames]
            row[name] = warping_error(frames, styled)[0]
        results["clips"][clip.name] = row

    write_json(args.out, results)
    names = list(painters)
    base = names[0]
    print("| clip | frames | input (floor) | " + " | ".join(f"{n} warping error" for n in names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for clip, row in results["clips"].items():
        cells = [f"{row[n]:.5f}" + ("" if n == base else f" ({row[n] / row[base] - 1:+.0%})") for n in names]
        print(f"| {clip} ({row['size']}) | {row['frames']} | {row['input']:.5f} | " + " | ".join(cells) + " |")
    styles = {n: results["painters"][n]["val_style"] for n in names}
    print("| val style distance | | | " + " | ".join(
        f"{styles[n]:.4f}" + ("" if n == base else f" ({styles[n] / styles[base] - 1:+.0%})") for n in names) + " |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
