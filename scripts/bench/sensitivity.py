"""How much each painter repaints when its input barely changes: the network alone, no stabiliser.

For every painter of each family given (names in checkpoints/ or .pt paths; the first is the baseline), on
crops of validation photos the training never saw: the mean level difference between the painting and the
painting of the crop moved by 1, 2, 3 and 4 px and by 0.25, 0.5 and 0.75 px (moved back, edges trimmed:
``nets.metrics.repaint``), and, as a ratio of the output's change to the input's own, for fresh sensor noise
(σ = 2 levels), an H.264 round trip (crf 23, 4:2:0) and a 2% brightness change. Then sharpness (variance of
the Laplacian) against the baseline's, and the time a frame takes in eager PyTorch fp32 (alternating
families, median), so a steadier family's cost is measured in the same run.

    python -m scripts.bench.sensitivity four_painters four_painters_fast --out docs/bench/sensitivity_2core.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from infer.engines import painter_engines
from infer.networks import TorchNetwork
from infer.painters import find_painter
from nets.device import describe_device, pick_device
from nets.files import write_json
from nets.metrics import change, repaint, sharpness

SHARED = Path(__file__).resolve().parents[3] / "shared"
WHOLE_MOVES = (1.0, 2.0, 3.0, 4.0)
SUBPIXEL_MOVES = (0.25, 0.5, 0.75)
Paint = Callable[[np.ndarray], np.ndarray]


def crops(shared: Path, count: int, side: int) -> list[np.ndarray]:
    """Centre crops ``side`` px square of the first ``count`` validation photos, scaled to a short side of
    1.25 × ``side`` first (so a crop holds a whole scene's worth of detail at that size)."""
    out = []
    for path in sorted((shared / "data" / "photos" / "val").glob("*.jpg"))[:count]:
        photo = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        h, w = photo.shape[:2]
        scale = 1.25 * side / min(h, w)
        photo = cv2.resize(photo, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
        out.append(np.ascontiguousarray(photo[top:top + side, left:left + side]))
    return out


def h264_round_trip(image: np.ndarray, crf: int = 23) -> np.ndarray:
    """``image`` encoded as one H.264 frame (x264, 4:2:0) and decoded: what a clip's codec does to a frame."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
    codec.options = {"crf": str(crf)}
    packets = codec.encode(av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p"))
    packets += codec.encode(None)
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    return frames[0].to_ndarray(format="rgb24")


def perturbations(image: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The small input changes a still or slow scene sees from frame to frame."""
    noise = np.random.default_rng(seed).normal(0, 2.0, image.shape)
    return {"noise_2": np.clip(np.rint(image + noise), 0, 255).astype(np.uint8),
            "h264_crf23": h264_round_trip(image),
            "brightness_2pct": np.clip(np.rint(image * 1.02), 0, 255).astype(np.uint8)}


def measure(paint: Paint, images: list[np.ndarray]) -> dict[str, float]:
    """Repaint levels for every move, and output/input change ratios for every perturbation (means over images)."""
    row: dict[str, float] = {}
    for move in WHOLE_MOVES + SUBPIXEL_MOVES:
        row[f"move_{move:g}px"] = float(np.mean([repaint(paint, image, move, 0) for image in images]))
    painted = [paint(image) for image in images]
    for k, (image, plain) in enumerate(zip(images, painted, strict=True)):
        for name, changed in perturbations(image, k).items():
            row.setdefault(f"{name}_ratio", 0.0)
            row[f"{name}_ratio"] += change(plain, paint(changed)) / change(image, changed) / len(images)
    row["sharpness"] = sharpness(painted)
    return row


def seconds_per_frame(paints: dict[str, Paint], image: np.ndarray, rounds: int) -> dict[str, float]:
    """Median seconds per frame of each family, alternating between them round by round."""
    times: dict[str, list[float]] = {name: [] for name in paints}
    for paint in paints.values():
        paint(image)  # warm-up
    for _ in range(rounds):
        for name, paint in paints.items():
            tick = time.perf_counter()
            paint(image)
            times[name].append(time.perf_counter() - tick)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="+", help="families (names in checkpoints/ or .pt files); the first is "
                                                    "the baseline")
    parser.add_argument("--photos", type=int, default=3, help="validation photos to crop")
    parser.add_argument("--side", type=int, default=320, help="crop side in px")
    parser.add_argument("--speed-size", default="1280x720", help="frame size the time per frame is measured at")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=Path("bench_sensitivity.json"))
    args = parser.parse_args()
    device = pick_device("cpu")
    images = crops(args.shared, args.photos, args.side)
    networks = {name: TorchNetwork(find_painter(name).files.pt, device) for name in args.families}
    rows = []
    for family, network in networks.items():
        for engine in painter_engines(network):
            row = {"family": family, "painter": engine.name} | measure(lambda image, e=engine: e(image[None])[0],
                                                                      images)
            rows.append(row)
            print(f"{family:28s} {engine.name:34s} " + " ".join(f"{k} {v:.2f}" for k, v in row.items()
                                                                  if isinstance(v, float)), flush=True)
    base = {r["painter"]: r["sharpness"] for r in rows if r["family"] == args.families[0]}
    for row in rows:
        row["sharpness_ratio"] = row["sharpness"] / base[row["painter"]] if row["painter"] in base else None
    w, h = (int(v) for v in args.speed_size.split("x"))
    frame = cv2.resize(images[0], (w, h), interpolation=cv2.INTER_CUBIC)
    first_painters = {name: painter_engines(network)[0] for name, network in networks.items()}
    speeds = seconds_per_frame({name: lambda image, e=engine: e(image[None])[0]
                                for name, engine in first_painters.items()}, frame, args.rounds)
    result = {"device": describe_device(device), "threads": torch.get_num_threads(), "photos": args.photos,
              "side": args.side, "rows": rows, "speed_size": args.speed_size, "seconds_per_frame": speeds,
              "speed_ratio": {name: s / speeds[args.families[0]] for name, s in speeds.items()}}
    write_json(args.out, result)
    moves = [f"move_{m:g}px" for m in WHOLE_MOVES + SUBPIXEL_MOVES]
    print("\n| family | painter | " + " | ".join(m.removeprefix("move_") for m in moves)
          + " | noise × | H.264 × | +2% × | sharpness |\n" + "|---" * (len(moves) + 6) + "|")
    for r in rows:
        sharp = f"{r['sharpness_ratio']:.2f}" if r["sharpness_ratio"] is not None else "–"
        print(f"| {r['family']} | {r['painter']} | " + " | ".join(f"{r[m]:.2f}" for m in moves)
              + f" | {r['noise_2_ratio']:.2f} | {r['h264_crf23_ratio']:.2f} | {r['brightness_2pct_ratio']:.2f} | "
              f"{sharp} |")
    print("\n| family | s/frame at " + args.speed_size + " (eager fp32) | × baseline |\n|---|---|---|")
    for name, s in speeds.items():
        print(f"| {name} | {s:.3f} | {result['speed_ratio'][name]:.2f} |")


if __name__ == "__main__":
    main()
