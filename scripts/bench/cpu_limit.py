"""What this CPU can do at most for the painter's main work: a 3×3 convolution of 128 channels at a quarter
of 720p (the residual blocks), in fp32, bf16 and int8, through the PyTorch calls the engines use (oneDNN),
plain and channels-last; and a square matrix product for reference. Every variant is timed in turn,
round after round (a slow spell of a shared machine hits them all), and the median is kept.

    python -m scripts.bench.cpu_limit --out docs/bench/cpu_limit_2core.json

With ``--painter``, the shipped painter's engines at 720p join the rounds (its FLOPs counted by PyTorch's
FlopCounterMode), so each engine's G op/s stands beside the machine's limit from the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.ao.nn.quantized as quantized
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from infer.painters import find_painter
from infer.plan import open_network
from nets.device import describe_device
from nets.files import write_json
from nets.painter import load_painter


def variants(channels: int, height: int, width: int) -> dict[str, tuple[Callable[[], object], float]]:
    """name -> (one call, operations it does)."""
    x = torch.randn(1, channels, height, width)
    w = torch.randn(channels, channels, 3, 3) / 30
    conv_ops = 2 * channels * channels * 9 * height * width
    found: dict[str, tuple[Callable[[], object], float]] = {}
    for dtype, label in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        for layout, suffix in ((torch.contiguous_format, ""), (torch.channels_last, ", channels-last")):
            xi, wi = x.to(dtype).contiguous(memory_format=layout), w.to(dtype).contiguous(memory_format=layout)
            found[f"conv 3×3 {label}{suffix}"] = (lambda xi=xi, wi=wi: F.conv2d(xi, wi, padding=1), conv_ops)
    engine = next(e for e in ("onednn", "x86", "fbgemm") if e in torch.backends.quantized.supported_engines)
    torch.backends.quantized.engine = engine
    conv = quantized.Conv2d(channels, channels, 3, padding=1)
    conv.set_weight_bias(torch.quantize_per_tensor(w, 0.01, 0, torch.qint8), None)
    conv.scale, conv.zero_point = 0.1, 128
    qx = torch.quantize_per_tensor(x, 0.05, 128, torch.quint8).contiguous(memory_format=torch.channels_last)
    found[f"conv 3×3 int8 ({engine}), channels-last"] = (lambda: conv(qx), conv_ops)
    a = torch.randn(2048, 2048)
    for dtype, label in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        m = a.to(dtype)
        found[f"matmul 2048² {label}"] = (lambda m=m: m @ m, 2 * 2048**3)
    return found


def painter_flops_per_pixel(painter: str) -> float:
    """Floating-point operations the painter does per pixel (counted on a 256×256 frame)."""
    model = load_painter(find_painter(painter).files.pt)[0].eval()
    mix = torch.zeros(1, model.painters)
    mix[0, 0] = 1
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, 256, 256), mix)
    return counter.get_total_flops() / 256**2


def against_limit(gops: float, limit: float) -> dict[str, float | bool]:
    """A path's share of the limit of its precision measured in the same run. Above 1 is flagged: then what was
    timed is not what was counted (another network under the file's name, a skipped layer), since a CPU does
    not beat its own peak (PERFORMANCE.md once quoted 7.12 frames/s at 720p for a fast family it had not timed)."""
    fraction = gops / limit
    return {"fraction_of_limit": fraction, "above_limit": fraction > 1.0}


def limit_cell(row: dict) -> str:
    """The table's "of the limit" cell, with the flag where it applies."""
    flag = " ⚠ above the limit measured in this run: check what was timed" if row.get("above_limit") else ""
    return f"{row['fraction_of_limit']:.2f}{flag}"


def engine_calls(painter: str, width: int, height: int) -> dict[str, tuple[Callable[[], object], float]]:
    """The painter's engines on one frame, as the commands run them."""
    frame = (np.random.default_rng(0).random((1, height, width, 3)) * 255).astype(np.uint8)
    ops = painter_flops_per_pixel(painter) * width * height
    files = find_painter(painter).files
    found = {}
    for engine in ("torch", "onnx"):
        network = open_network(files, engine, "cpu")
        weights = np.eye(len(network.painters), dtype=np.float32)[:1]
        found[f"painter {height}p, {network.description}"] = (lambda n=network, w=weights: n(frame, w), ops)
    return found


def timed_rounds(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each call, every call timed in turn, round after round: a slow spell of a shared
    machine hits them all."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            tick = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - tick)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--painter", default=None, help="also time this painter's engines on a 720p frame")
    parser.add_argument("--out", type=Path, default=Path("cpu_limit.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    calls = variants(128, 180, 320) | (engine_calls(args.painter, 1280, 720) if args.painter else {})
    for call, _ in calls.values():  # warm-up: oneDNN picks and caches its kernels
        call()
    seconds = timed_rounds({name: call for name, (call, _) in calls.items()}, args.rounds)
    rows = [{"op": name, "ops": ops, "seconds": seconds[name], "gops": ops / seconds[name] / 1e9}
            for name, (_, ops) in calls.items()]
    base = rows[0]["gops"]
    write_json(args.out, {"device": describe_device(torch.device("cpu")), "threads": args.threads,
                          "torch": torch.__version__, "shape": "1×128×180×320, 3×3, 128 → 128", "rows": rows})
    print(f"{describe_device(torch.device('cpu'))}, {args.threads} threads, torch {torch.__version__}\n")
    print("| op | G op/s | × conv fp32 |\n|---|---|---|")
    for row in rows:
        print(f"| {row['op']} | {row['gops']:.0f} | {row['gops'] / base:.2f} |")


if __name__ == "__main__":
    main()
