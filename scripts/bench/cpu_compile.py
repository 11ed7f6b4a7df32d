"""What the compiled CPU paths owe to their changes of 2026-12-03, alone and together, in one run.

The instance norms' statistics as two float sums instead of var_mean (``CondInstanceNorm.
channels_last_statistics``), Inductor writing out the residual blocks' running sum
(``infer.prebuilt.INDUCTOR_CPU_OPTIONS``) and, for prebuilt packages, an example of one frame more than
threads instead of 2 frames (``infer.prebuilt.example_batch``). Each variant is the real engine
(``infer.networks.TorchNetwork``, compiled, and with ``--prebuilt`` the ahead-of-time package of
``infer.prebuilt``, built in a temporary cache) with the other choices put back; one frame of a real photo at
each size, every variant timed in turn, round after round, median kept; each output compared with PyTorch
fp32 eager.

    python -m scripts.bench.cpu_compile --painters four_painters four_painters_fast --precisions bf16 fp32 \\
        --prebuilt --out docs/bench/cpu_compile_2core.json
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from infer import prebuilt
from infer.networks import TorchNetwork
from infer.painters import find_painter
from infer.plan import open_network
from infer.precision import difference
from nets.device import describe_device
from nets.files import write_json
from nets.transformer import CondInstanceNorm
from scripts.bench.cpu_limit import painter_flops_per_pixel, timed_rounds
from scripts.bench.cpu_paths import SIZES, psnr


def var_mean_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The statistics as computed before: torch.var_mean (Welford)."""
    var, mean = torch.var_mean(x.float(), dim=(2, 3), unbiased=False)
    return mean, var


SUMS = CondInstanceNorm.channels_last_statistics
#: variant: (the statistics, whether Inductor writes the running sum out, whether a package's example is the 2
#: frames it was before, the engines it is timed on)
VARIANTS = {"before (var_mean, Inductor's defaults, example of 2 frames)": (var_mean_statistics, False, True,
                                                                           ("compiled", "prebuilt")),
            "sums only": (SUMS, False, False, ("compiled",)),
            "written-out sum only": (var_mean_statistics, True, False, ("compiled",)),
            "sums and written-out sum, example of 2 frames": (SUMS, True, True, ("prebuilt",)),
            "now (all)": (SUMS, True, False, ("compiled", "prebuilt"))}


@contextlib.contextmanager
def recipe(statistics: Callable, realize: bool, old_example: bool) -> Iterator[None]:
    """Build (compile, or prebuild) with these choices; the shipped ones after."""
    saved = SUMS, prebuilt.INDUCTOR_CPU_OPTIONS, prebuilt.RECIPE, prebuilt.example_batch
    CondInstanceNorm.channels_last_statistics = staticmethod(statistics)
    prebuilt.INDUCTOR_CPU_OPTIONS = dict(saved[1]) if realize else {}
    prebuilt.RECIPE = f"{statistics.__name__}-{realize}-{old_example}"
    prebuilt.example_batch = (lambda: 2) if old_example else saved[3]
    try:
        yield
    finally:
        CondInstanceNorm.channels_last_statistics = staticmethod(saved[0])
        prebuilt.INDUCTOR_CPU_OPTIONS, prebuilt.RECIPE, prebuilt.example_batch = saved[1:]


def compiled(painter: str, precision: str, frames: dict[str, np.ndarray], statistics: Callable, realize: bool,
             old_example: bool) -> Callable:
    """The compiled engine, its graph for every size traced now: its norms keep their statistics as their own
    attribute, so the class changing back later is no reason to trace again."""
    with recipe(statistics, realize, old_example):
        network = TorchNetwork(find_painter(painter).files.pt, torch.device("cpu"), precision, mode="compiled")
        for norm in network.module._orig_mod.modules():
            if isinstance(norm, CondInstanceNorm):
                norm.channels_last_statistics = statistics
        weights = np.eye(len(network.painters), dtype=np.float32)[:1]
        for frame in frames.values():
            network.whole(frame, weights)
    return network.whole


def prebuilt_package(painter: str, precision: str, statistics: Callable, realize: bool, old_example: bool
                     ) -> Callable:
    with recipe(statistics, realize, old_example):
        network = TorchNetwork(find_painter(painter).files.pt, torch.device("cpu"), precision, mode="prebuilt")
    return network.whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--painters", nargs="+", default=["four_painters", "four_painters_fast"])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--precisions", nargs="+", default=["bf16"], choices=["bf16", "fp32"],
                        help="fp32 runs NCHW, without the norms' channels-last statistics: only the options differ")
    parser.add_argument("--prebuilt", action="store_true", help="also the prebuilt packages (about 2 min each)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, default=Path("cpu_compile.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    photo = Image.open(args.shared / "data" / "photos" / "val" / "bsds300_img_014.jpg").convert("RGB")
    frames = {size: np.asarray(photo.resize(wh, Image.Resampling.LANCZOS))[None] for size, wh in SIZES.items()}
    calls: dict[tuple[str, ...], Callable] = {}
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        os.environ[prebuilt.CACHE_VARIABLE] = cache
        for painter, precision in itertools.product(args.painters, args.precisions):
            reference = open_network(find_painter(painter).files, "torch", "cpu", "fp32")
            weights = np.eye(len(reference.painters), dtype=np.float32)[:1]
            for variant, (*choices, timed_on) in VARIANTS.items():
                if precision == "fp32" and "only" in variant:  # fp32 runs NCHW: the statistics are not used
                    continue
                engines = {"compiled": compiled(painter, precision, frames, *choices)} if "compiled" in timed_on else {}
                if args.prebuilt and "prebuilt" in timed_on:
                    engines["prebuilt"] = prebuilt_package(painter, precision, *choices)
                for engine, whole in engines.items():
                    for size, frame in frames.items():
                        out, want = whole(frame, weights), reference(frame, weights)
                        diff = difference(out, want)
                        rows.append({"painter": painter, "precision": precision, "engine": engine, "variant": variant,
                                     "size": size, "max_diff": diff.max, "mean_diff": diff.mean,
                                     "psnr_db": psnr(out, want)})
                        calls[painter, precision, engine, variant, size] = (lambda c=whole, f=frame, w=weights:
                                                                            c(f, w))
                print(f"built {painter} {precision}: {variant}", flush=True)
        seconds = timed_rounds(calls, args.rounds)
    for row in rows:
        key = row["painter"], row["precision"], row["engine"]
        s = seconds[(*key, row["variant"], row["size"])]
        pixels = frames[row["size"]].shape[1] * frames[row["size"]].shape[2]
        row |= {"fps": 1 / s, "gops": painter_flops_per_pixel(row["painter"]) * pixels / s / 1e9,
                "speedup": seconds[(*key, next(iter(VARIANTS)), row["size"])] / s}
    write_json(args.out, {"device": describe_device(torch.device("cpu")), "threads": args.threads,
                          "torch": torch.__version__, "rounds": args.rounds, "rows": rows})
    print(f"\n{describe_device(torch.device('cpu'))}, {args.threads} threads, torch {torch.__version__}\n")
    print("| painter | precision | engine | variant | size | frames/s | × before | max / mean diff vs fp32 | PSNR |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['painter']} | {row['precision']} | {row['engine']} | {row['variant']} | {row['size']} | "
              f"{row['fps']:.2f} | {row['speedup']:.2f} | {row['max_diff']} / {row['mean_diff']:.2f} | "
              f"{row['psnr_db']:.1f} dB |")


if __name__ == "__main__":
    main()
