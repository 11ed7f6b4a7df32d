"""Reference-mode speed: seconds for one photo at a given size and number of L-BFGS iterations.

The issue's target is 512 px and 500 iterations. The first iteration is timed apart (it includes
cuDNN autotuning and allocations); the loss before and after shows that the optimiser really ran.

    python -m scripts.bench.reference --style ../shared/data/styles/vangogh_starry_night.jpg \\
        --vgg-weights ../shared/weights --size 512 --iterations 500 --out bench_reference.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from skimage import data

from infer.reference import ReferenceConfig, ReferenceStylizer
from nets.files import write_json
from nets.images import fit_longest_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", required=True)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("bench_reference.json"))
    args = parser.parse_args()
    photo = np.asarray(fit_longest_side(Image.fromarray(data.astronaut()), args.size))
    results = {}
    for iterations in (1, args.iterations):
        reference = ReferenceStylizer(ReferenceConfig(style=args.style, iterations=iterations, device=args.device,
                                                      vgg_weights=args.vgg_weights))
        if reference.device.type == "cuda":
            torch.cuda.synchronize()
        tick = time.perf_counter()
        _, losses = reference.image(photo)
        if reference.device.type == "cuda":
            torch.cuda.synchronize()
        results[iterations] = {"seconds": time.perf_counter() - tick, "loss_first": losses[0], "loss_last": losses[-1]}
    run = results[args.iterations]
    report = {"device": reference.description, "size": f"{photo.shape[1]}x{photo.shape[0]}",
              "iterations": args.iterations, "seconds": run["seconds"], "first_iteration_s": results[1]["seconds"],
              "loss": [run["loss_first"], run["loss_last"]]}
    write_json(args.out, report)
    print("| size | iterations | seconds | seconds/iteration | loss first → last | device |\n|---|---|---|---|---|---|")
    print(f"| {report['size']} | {args.iterations} | {run['seconds']:.1f} | {run['seconds'] / args.iterations:.3f} | "
          f"{run['loss_first']:.3f} → {run['loss_last']:.3f} | {reference.description} |")


if __name__ == "__main__":
    main()
