"""Does smoothing the instance-norm statistics over a clip's frames cut flicker, and at what style cost?

Instance norm gives every frame its own statistics, so a frame whose brightness or colours shift a little
is normalised differently from its neighbours: the whole painting pumps. Here each frame's statistics
(``NormStats``) are an exponential moving average of the frames' own, s_t = a·s_(t-1) + (1−a)·x_t, and the
frame is stylised with them (the tile path, one tile). Measured per painter and clip: warping error (Lai
et al. 2018) and style distance to the painting (VGG16, every 10th frame), with and without smoothing.
The option ships only if flicker drops by at least 15% at no more than +5% style distance.

    python -m scripts.experiments.norm_smoothing --clips ../shared/data/video/cockatoo_1280x720.mp4 \\
        ../shared/data/video/realshort_320x240.mp4 --vgg-weights ../shared/weights --out smoothing.json

Decided: not an option (at most 7.5% less flicker for up to +4.7% style, none on a second clip);
figures in docs/PERFORMANCE.md ("Smoothing the statistics over time") and docs/bench/norm_smoothing_cpu_2core.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from infer.networks import OnnxNetwork
from infer.painters import find_painter, style_image_of
from nets.device import pick_device
from nets.files import write_json
from nets.images import load_image, read_clip, to_tensor
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.metrics import warping_error
from nets.vgg import VGGFeatures


def render(network: OnnxNetwork, frames: list[np.ndarray], weights: np.ndarray, keep: float) -> list[np.ndarray]:
    """Every frame stylised with its statistics averaged over the earlier frames (``keep`` = a; 0: off)."""
    row, smoothed, out = weights[None], None, []
    for frame in frames:
        own = network.statistics(frame[None], row)
        smoothed = own if smoothed is None else keep * smoothed + (1 - keep) * own
        out.append(network.tile(frame[None], row, smoothed.astype(np.float32))[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="four_painters")
    parser.add_argument("--clips", nargs="+", type=Path, required=True)
    parser.add_argument("--width", type=int, default=320, help="clips are scaled to this width")
    parser.add_argument("--keep", type=float, nargs="+", default=[0.5, 0.8, 0.9], help="EMA factors a to try")
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--out", type=Path, default=Path("norm_smoothing.json"))
    args = parser.parse_args()
    ref = find_painter(args.painter)
    network = OnnxNetwork(ref.files.onnx, pick_device("cpu"))
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, args.vgg_weights or None)
    rows = []
    for clip in args.clips:
        frames = read_clip(clip, args.width)
        floor = warping_error(frames, frames)[0]
        for k, painter in enumerate(network.painters):
            if ref.painter and painter["name"] != ref.painter:
                continue
            weights = np.eye(len(network.painters), dtype=np.float32)[k]
            style = load_image(style_image_of(painter, ref.files.onnx), 512, painter.get("style_crop") or 0.0)
            criterion = PerceptualLoss(vgg, style)
            for keep in [0.0, *args.keep]:
                styled = render(network, frames, weights, keep)
                with torch.no_grad():
                    distance = float(np.mean([criterion(to_tensor(s), to_tensor(f)).style.item()
                                              for s, f in list(zip(styled, frames, strict=True))[::10]]))
                rows.append({"clip": clip.name, "painter": painter["name"], "keep": keep, "input_floor": floor,
                             "warping_error": warping_error(frames, styled)[0], "style_distance": distance})
                print(json.dumps(rows[-1]), flush=True)
    write_json(args.out, {"painter": args.painter, "width": args.width, "rows": rows})
    print("| clip | painter | a | warping error (change) | style distance (change) |\n|---|---|---|---|---|")
    for row in rows:
        base = next(r for r in rows if r["clip"] == row["clip"] and r["painter"] == row["painter"] and r["keep"] == 0)
        print(f"| {row['clip']} | {row['painter']} | {row['keep']:g} | {row['warping_error']:.5f} "
              f"({100 * (row['warping_error'] / base['warping_error'] - 1):+.1f}%) | {row['style_distance']:.3f} "
              f"({100 * (row['style_distance'] / base['style_distance'] - 1):+.1f}%) |")


if __name__ == "__main__":
    main()
