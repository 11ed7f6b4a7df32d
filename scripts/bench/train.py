"""Training speed of the real trainer under several settings, and whether they change the loss curve.

Each variant is ``train.trainer.train`` on the same photos, seed and step count, differing only in the
settings named (``amp``, ``channels_last``, ``compile``, ``batch_size`` …). Variants run round-robin
``--repeats`` times, so that a slow spell of the machine hits them all; images per second are the median
over the logged windows after the first (which holds the warm-up and any compilation). The loss curve of
every variant is compared with the first variant's, point by point: the same seed draws the same crops,
so only arithmetic differs.

    python -m scripts.bench.train --photos ../shared/data/photos/train_short256 \\
        --style ../shared/data/styles/vangogh_starry_night.jpg --vgg-weights ../shared/weights \\
        --size 128 --batch-size 4 --steps 40 --device cpu --out docs/bench/train_cpu_2core.json \\
        --variant "fp32" amp=off --variant "bf16" amp=on --variant "fp32 channels_last" amp=off channels_last=1 \\
        --variant "bf16 channels_last" amp=on channels_last=1
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from nets.device import describe_device, pick_device
from nets.files import write_json
from train.config import TrainConfig
from train.trainer import train


def parse_variant(items: list[str]) -> tuple[str, dict[str, Any]]:
    """``["bf16", "amp=on", "batch_size=8"]`` -> ("bf16", {"amp": "on", "batch_size": 8})."""
    label, settings = items[0], {}
    for item in items[1:]:
        key, _, value = item.partition("=")
        default = getattr(TrainConfig(style=["x"], photos="x"), key)
        settings[key] = type(default)(value) if not isinstance(default, bool) else value in ("1", "true", "on")
    return label, settings


def run(base: TrainConfig, settings: dict[str, Any]) -> list[dict[str, float]]:
    """One training run; its logged curve (step, images/s, losses)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig.from_dict(base.to_dict() | settings | {"out_dir": tmp, "log_dir": tmp})
        train(cfg)
        return json.loads(Path(tmp, cfg.painter_name, "curve.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", required=True)
    parser.add_argument("--style", required=True)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--log-every", type=int, default=5)
    parser.add_argument("--temporal-weight", type=float, default=0.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variant", nargs="+", action="append", required=True,
                        help="a label, then key=value settings of TrainConfig; the first variant is the baseline")
    parser.add_argument("--out", type=Path, default=Path("bench_train.json"))
    args = parser.parse_args()
    base = TrainConfig(style=[args.style], photos=args.photos, vgg_weights=args.vgg_weights, image_size=args.size,
                       style_size=2 * args.size, batch_size=args.batch_size, steps=args.steps,
                       temporal_weight=args.temporal_weight, device=args.device, log_every=args.log_every,
                       sample_every=10**9, checkpoint_every=10**9, overwrite=True, name="bench")
    variants = dict(parse_variant(v) for v in args.variant)
    speeds: dict[str, list[float]] = {label: [] for label in variants}
    curves: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for label, settings in variants.items():
            curve = run(base, settings)
            speeds[label] += [point["images_per_s"] for point in curve[1:]]
            curves[label] = curve
    baseline = next(iter(variants))
    results = {}
    for label in variants:
        diffs = [abs(a["total"] - b["total"]) / b["total"] for a, b in zip(curves[label], curves[baseline],
                                                                              strict=True)]
        results[label] = {"settings": variants[label], "images_per_s": statistics.median(speeds[label]),
                          "curve_max_rel_diff": max(diffs), "final_total": curves[label][-1]["total"],
                          "curve": curves[label]}
    device = describe_device(pick_device(args.device))
    write_json(args.out, {"device": device, "settings": vars(args), "results": results})
    base_speed = results[baseline]["images_per_s"]
    print(f"training at {args.size} px, batch {args.batch_size}, {args.steps} steps × {args.repeats} on {device}")
    print("| variant | images/s | × baseline | loss curve vs baseline (max rel. diff) |\n|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r['images_per_s']:.2f} | {r['images_per_s'] / base_speed:.2f}× | "
              f"{100 * r['curve_max_rel_diff']:.2f}% |")


if __name__ == "__main__":
    main()
