"""Training speed: images per second of the real trainer, fp32 batch-4 baseline vs the fast settings.

Both runs are ``train.trainer.train`` on the same photos, measured in the same process: the baseline
as in pytorch/examples (fp32, contiguous memory, batch 4), the candidate with bf16 autocast and
channels_last (on CUDA) at a larger batch. Images per second count the loop only: the difference of
the loop wall times of two run lengths, so set-up and warm-up cancel.

    python scripts/bench_train.py --photos ../shared/data/photos/train \\
        --style ../shared/data/styles/vangogh_starry_night.jpg --vgg-weights ../shared/weights \\
        --size 256 --batch-size 16 --steps 200 --out bench_train.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nets.device import describe_device, pick_device  # noqa: E402
from nets.files import atomic_path  # noqa: E402
from train.config import TrainConfig  # noqa: E402
from train.trainer import train  # noqa: E402


def images_per_second(base: TrainConfig, steps: int) -> float:
    """Loop throughput from two runs (``steps`` and 2·``steps``): the difference cancels start-up costs."""
    times = []
    for n in (steps, 2 * steps):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TrainConfig(**(base.to_dict() | {"steps": n, "out_dir": tmp, "log_dir": tmp, "overwrite": True}))
            times.append(train(cfg)["wall_time_s"])
    return steps * base.batch_size / max(times[1] - times[0], 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", required=True)
    parser.add_argument("--style", required=True)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16, help="the fast run's batch")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--temporal-weight", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("bench_train.json"))
    args = parser.parse_args()
    common = dict(style=args.style, photos=args.photos, vgg_weights=args.vgg_weights, image_size=args.size,
                  temporal_weight=args.temporal_weight, workers=args.workers, log_every=10**9,
                  sample_every=10**9, checkpoint_every=10**9)
    runs = {
        "fp32 batch 4 (baseline)": TrainConfig(**common, batch_size=4, amp=False),
        f"bf16+channels_last batch {args.batch_size}": TrainConfig(**common, batch_size=args.batch_size, amp=True),
    }
    results = {name: images_per_second(cfg, args.steps) for name, cfg in runs.items()}
    device = describe_device(pick_device("auto"))
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps({"device": device, "settings": vars(args) | {"out": str(args.out)},
                                   "images_per_s": results}, indent=2) + "\n")
    base = next(iter(results.values()))
    print(f"training at {args.size} px on {device}")
    print("| run | images/s | × baseline |\n|---|---|---|")
    for name, value in results.items():
        print(f"| {name} | {value:.1f} | {value / base:.2f}× |")


if __name__ == "__main__":
    main()
