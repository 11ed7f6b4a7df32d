"""What the render-time controls cost, and whether a cross-fade flickers more than one painter.

Speed: frames per second of one painter, a blend, a keyframed cross-fade, strength and colour
preservation, model only at ``--size``, each the median of ``--repeats`` timed calls taken round-robin
(so a slow spell of the machine hits them all). Flicker: warping error (Lai et al. 2018) on a clip of the
keyframed cross-fade through every painter of the family, against each painter alone.

    python -m scripts.bench.controls -m four_painters --clip ../shared/data/video/cockatoo_1280x720.mp4 \\
        --out docs/bench/controls_cpu_2core.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from infer.controls import Adjusted, KeyframeEngine, parse_keyframes
from infer.engines import Engine, PainterEngine
from infer.stylizer import Stylizer
from nets.files import write_json
from nets.images import read_clip
from nets.metrics import warping_error
from scripts.bench.infer import SIZES, pan_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="four_painters", help="a family")
    parser.add_argument("--size", default="720p", choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--clip-width", type=int, default=320)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("bench_controls.json"))
    args = parser.parse_args()
    family = Stylizer(args.painter, device=args.device)
    network = family.network
    if network is None or len(network.painters) < 2:
        sys.exit(f"bench_controls: error: {args.painter} is not a family")
    names = [p["name"] for p in network.painters]
    one_hot = np.eye(len(names), dtype=np.float32)
    even = np.full(len(names), 1 / len(names), dtype=np.float32)
    keyframes = parse_keyframes("; ".join(f"{k}:{name}" for k, name in enumerate(names)))
    painter = PainterEngine(network, one_hot[0], names[0])
    engines: dict[str, Engine] = {
        f"one painter ({names[0]})": painter,
        "blend of all painters": PainterEngine(network, even, "blend"),
        "keyframed cross-fade": KeyframeEngine(network, keyframes, args.painter),
        "strength 0.7": Adjusted(painter, strength=0.7),
        "preserve colours": Adjusted(painter, preserve_colors=True),
    }
    frame = np.stack(pan_frames(SIZES[args.size], 1))
    times = {label: [] for label in engines}
    for engine in engines.values():  # warm-up
        engine(frame, np.array([1.5]))
    for _ in range(args.repeats):
        for label, engine in engines.items():
            tick = time.perf_counter()
            engine(frame, np.array([1.5]))
            times[label].append(time.perf_counter() - tick)
    speed = {label: 1 / statistics.median(t) for label, t in times.items()}

    frames = read_clip(args.clip, args.clip_width)
    fps = 20.0  # the clip's rate sets when each keyframe comes; spread them over the clip
    spread = parse_keyframes("; ".join(f"{k * (len(frames) - 1) / fps / (len(names) - 1):.3f}:{name}"
                                       for k, name in enumerate(names)))
    fade = KeyframeEngine(network, spread, args.painter)
    flicker = {"input (floor)": warping_error(frames, frames)[0],
               "keyframed cross-fade": warping_error(frames, [fade(f[None], np.array([t / fps]))[0]
                                                              for t, f in enumerate(frames)])[0]}
    for k, name in enumerate(names):
        engine = PainterEngine(network, one_hot[k], name)
        flicker[name] = warping_error(frames, [engine(f[None])[0] for f in frames])[0]

    report = {"family": args.painter, "runs_on": network.description, "size": args.size, "repeats": args.repeats,
              "frames_per_s": speed, "clip": str(args.clip), "clip_frames": len(frames),
              "clip_size": f"{frames[0].shape[1]}x{frames[0].shape[0]}", "warping_error": flicker}
    write_json(args.out, report)
    base = next(iter(speed.values()))
    print(f"{args.painter} on {network.description}, {args.size}, median of {args.repeats}")
    print("| control | frames/s | × one painter |\n|---|---|---|")
    for label, value in speed.items():
        print(f"| {label} | {value:.3f} | {value / base:.2f} |")
    print(f"\nwarping error on {args.clip.name} at {report['clip_size']}, {len(frames)} frames")
    print("| rendering | warping error |\n|---|---|")
    for label, value in flicker.items():
        print(f"| {label} | {value:.5f} |")


if __name__ == "__main__":
    main()
