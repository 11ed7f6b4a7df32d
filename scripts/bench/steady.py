"""How steady the stabiliser makes each painter, and at what cost in style, sharpness and time.

For every painter of a family and every ``--strengths`` setting (0 = the plain painter), on clips whose
motion is known exactly (``scripts.helpers.known_motion``: pan, zoom and turn over a photo, a disc crossing a
still background) and on real clips (DIS flow: the stabiliser's own kind of flow, so only a second
opinion): warping error and its ratio to the input clip's (the floor), style and content distance (VGG16,
the painter's own style image), sharpness (variance of the Laplacian) against the plain frames, trails
(mean level difference from the plain painting on the pixels a moving disc has just uncovered), and drift
(mean level difference from the plain painting over a still shot, first against last frames). Then the
stabiliser's own cost per frame at 720p and 1080p (flow at several sizes, warp and blend).

    python -m scripts.bench.steady --vgg-weights ../shared/weights --out docs/bench/steady_cpu_2core.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from infer.engines import painter_engines
from infer.networks import TorchNetwork
from infer.painters import find_painter, style_image_of
from infer.steady import DEFAULT_STRENGTH, FLOW_SIDE, Stabilizer, measure_motion, stabilize_frames
from nets.device import describe_device, pick_device
from nets.files import write_json
from nets.images import load_image, read_clip, to_tensor
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.metrics import exact_motion, sharpness, warping_error
from nets.vgg import VGGFeatures
from scripts.helpers.known_motion import MOVES, KnownClip, camera_move, moving_object, still_shot

SHARED = Path(__file__).resolve().parents[3] / "shared"


def rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def clips(shared: Path, frames: int, width: int, height: int) -> list[tuple[KnownClip, bool]]:
    """(clip, whether its motion is exact): the known-motion clips, then the real ones."""
    photos = sorted((shared / "data" / "photos" / "val").glob("*.jpg"))
    made = [(camera_move(rgb(photos[k]), kind, frames, width, height), True) for k, kind in enumerate(MOVES)]
    made.append((moving_object(rgb(photos[3]), rgb(photos[4]), frames, width, height), True))
    for name in ("cockatoo_1280x720.mp4", "realshort_320x240.mp4", "big_buck_bunny_320x176.mp4"):
        made.append((KnownClip(name.split("_")[0], read_clip(shared / "data" / "video" / name, width)[:frames]), False))
    return made


def motions_of(clip: KnownClip, exact: bool) -> list | None:
    """The clip's exact motion for ``warping_error``, or None (DIS flow) for a real clip."""
    return [exact_motion(f, m) for f, m in zip(clip.flows, clip.masks, strict=True)] if exact else None


def paint(engine, clip: KnownClip, strength: float, flow_side: int = FLOW_SIDE) -> tuple[list[np.ndarray], float]:
    """The clip painted in order (stabilised unless 0), and seconds per frame."""
    tick = time.perf_counter()
    out = stabilize_frames(engine, clip.frames, strength, flow_side=flow_side)
    return out, (time.perf_counter() - tick) / len(clip.frames)


def distances(criterion: PerceptualLoss, inputs: list[np.ndarray], outputs: list[np.ndarray], margin: int = 0
              ) -> tuple[float, float]:
    """Mean (style, content) distance over every fourth frame, without a ``margin`` px band at the edges."""
    style, content = [], []
    inner = (slice(margin, -margin or None), slice(margin, -margin or None))
    with torch.no_grad():
        for photo, painted in list(zip(inputs, outputs, strict=True))[::4]:
            d = criterion(*(to_tensor(np.ascontiguousarray(image[inner])) for image in (painted, photo)))
            style.append(d.style.item())
            content.append(d.content.item())
    return float(np.mean(style)), float(np.mean(content))


def quality(args: argparse.Namespace, device: torch.device) -> list[dict]:
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, args.vgg_weights or None).to(device)
    family = find_painter(args.painter).files.pt
    made = [(clip, exact) for clip, exact in clips(args.shared, args.frames, args.width, args.height)
            if exact or not args.exact_only]
    floors = {clip.name: warping_error(clip.frames, clip.frames, motions_of(clip, exact))[0] for clip, exact in made}
    rows = []
    for engine in painter_engines(TorchNetwork(family, device)):
        record = engine.record
        style = load_image(style_image_of(record, family), 512, record.get("style_crop") or 0.0)
        criterion = PerceptualLoss(vgg, [style])
        for clip, exact in made:
            motions = motions_of(clip, exact)
            plain = None
            for strength in args.strengths:
                out, seconds = paint(engine, clip, strength)
                plain = plain or (out, seconds)
                error = warping_error(clip.frames, out, motions)[0]
                style_d, content_d = distances(criterion, clip.frames, out, args.margin)
                whole_style = distances(criterion, clip.frames, out)[0]
                row = {"painter": engine.name, "clip": clip.name, "exact_flow": exact, "strength": strength,
                       "warping_error": error, "input_warping_error": floors[clip.name],
                       "ratio": error / floors[clip.name], "style": style_d, "content": content_d,
                       "whole_frame_style": whole_style,
                       "sharpness": sharpness(out), "seconds_per_frame": seconds}
                if clip.uncovered:
                    levels = [np.abs(o.astype(np.float32) - p.astype(np.float32)).mean(2)[u].mean()
                              for o, p, u in zip(out[1:], plain[0][1:], clip.uncovered, strict=True) if u.any()]
                    row["trail_levels"] = float(np.mean(levels)) if levels else None
                base = next(r for r in rows[::-1] if r["clip"] == clip.name and r["strength"] == args.strengths[0]) \
                    if strength != args.strengths[0] else row
                row |= {"style_change": row["style"] / base["style"] - 1,
                        "whole_frame_style_change": whole_style / base["whole_frame_style"] - 1,
                        "content_change": row["content"] / base["content"] - 1, "sharpness_ratio": row["sharpness"]
                        / base["sharpness"], "seconds_added": seconds - plain[1]}
                rows.append(row)
                print(f"{engine.name:24s} {clip.name:9s} S={strength:<4g} flicker {row['ratio']:5.2f}x  style "
                      f"{100 * row['style_change']:+5.1f}%  sharp {row['sharpness_ratio']:.2f}"
                      + (f"  trail {row['trail_levels']:.2f}" if row.get("trail_levels") is not None else ""),
                      flush=True)
    return rows


def drift(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """Mean |stabilised − plain| levels over the first and the last 30 frames of a still shot."""
    photo = rgb(sorted((args.shared / "data" / "photos" / "val").glob("*.jpg"))[5])
    clip = still_shot(photo, args.still_frames, args.width, args.height)
    rows = []
    for engine in painter_engines(TorchNetwork(find_painter(args.painter).files.pt, device)):
        plain, _ = paint(engine, clip, 0.0)
        steady, _ = paint(engine, clip, DEFAULT_STRENGTH)
        gaps = [float(np.abs(s.astype(np.float32) - p.astype(np.float32)).mean()) for s, p in zip(steady, plain,
                                                                                               strict=True)]
        rows.append({"painter": engine.name, "strength": DEFAULT_STRENGTH, "frames": len(gaps),
                     "first_30": float(np.mean(gaps[:30])), "last_30": float(np.mean(gaps[-30:])),
                     "sharpness_first_30": sharpness(steady[:30]) / sharpness(plain[:30]),
                     "sharpness_last_30": sharpness(steady[-30:]) / sharpness(plain[-30:])})
        print(f"drift {engine.name:24s} {rows[-1]['first_30']:.2f} -> {rows[-1]['last_30']:.2f} levels", flush=True)
    return rows


def identity(frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
    """An engine that costs nothing: what is left is the stabiliser's own time."""
    return frames


def flow_size(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """At 720p, how steady the default setting is with flow at each of ``--flow-sides``: the flow's size is
    the stabiliser's main cost, and what it buys is measured here (exact flow for a pan, DIS for cockatoo)."""
    photo = rgb(sorted((args.shared / "data" / "photos" / "val").glob("*.jpg"))[0])
    w, h = 1280, 720
    made = [(camera_move(photo, "pan", args.size_frames, w, h), True),
            (KnownClip("cockatoo", read_clip(args.shared / "data" / "video" / "cockatoo_1280x720.mp4")
                       [:args.size_frames]), False)]
    engine = painter_engines(TorchNetwork(find_painter(args.painter).files.pt, device))[0]
    rows = []
    for clip, exact in made:
        motions = motions_of(clip, exact)
        floor = warping_error(clip.frames, clip.frames, motions)[0]
        plain = warping_error(clip.frames, paint(engine, clip, 0.0)[0], motions)[0]
        for side in args.flow_sides:
            out, _ = paint(engine, clip, DEFAULT_STRENGTH, side)
            ratio = warping_error(clip.frames, out, motions)[0] / floor
            rows.append({"painter": engine.name, "clip": clip.name, "size": "1280x720", "flow_side": side,
                         "plain_ratio": plain / floor, "ratio": ratio})
            print(f"flow size {clip.name:9s} at {side:5d} px: flicker {plain / floor:.2f}x -> {ratio:.2f}x", flush=True)
    return rows


def cost(args: argparse.Namespace) -> list[dict]:
    """Seconds per frame of the stabiliser's parts at 720p and 1080p: flow (reader side), warp and blend
    (on the host with OpenCV, and in torch on each of ``--steady-devices`` and on the GPU where there is one)."""
    places = [None, *(torch.device(d) for d in args.steady_devices)]
    if torch.cuda.is_available() and not any(p is not None and p.type == "cuda" for p in places):
        places.append(torch.device("cuda"))
    frames = read_clip(args.shared / "data" / "video" / "cockatoo_1280x720.mp4")[:args.repeats + 1]
    rows = []
    for label, (w, h) in {"720p": (1280, 720), "1080p": (1920, 1080)}.items():
        clip = [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in frames]
        for side in args.flow_sides:
            times = []
            for k in range(1, len(clip)):
                tick = time.perf_counter()
                measure_motion(clip[k - 1], clip[k], side)
                times.append(time.perf_counter() - tick)
            rows.append({"size": label, "part": f"flow at {side} px", "seconds": statistics.median(times)})
        motion = measure_motion(clip[0], clip[1])
        for place in places:
            stabilizer = Stabilizer(1.0, device=place)
            stabilizer(identity, clip[0][None], None, [None])  # the cost of everything but the painting
            stabilizer(identity, clip[1][None], None, [motion])  # a device's first call sets it up
            times = []
            for k in range(1, len(clip)):
                tick = time.perf_counter()
                stabilizer(identity, clip[k][None], None, [motion])
                times.append(time.perf_counter() - tick)
            where = "OpenCV on the host" if place is None else f"torch on {place}"
            rows.append({"size": label, "part": f"shift, warp and blend ({where})",
                         "seconds": statistics.median(times)})
        for row in rows[-len(args.flow_sides) - len(places):]:
            print(f"cost {label:6s} {row['part']:42s} {1000 * row['seconds']:7.1f} ms", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="four_painters", help="a family in checkpoints/, or a .pt file")
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--frames", type=int, default=12, help="frames of each quality clip")
    parser.add_argument("--still-frames", type=int, default=300, help="frames of the still shot (drift)")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--flow-sides", type=int, nargs="+", default=[256, 512, 1920])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steady-devices", nargs="*", default=[],
                        help="also time the stabiliser's arithmetic in torch on these devices (cpu, cuda:0; the GPU "
                             "is timed wherever there is one)")
    parser.add_argument("--margin", type=int, default=16,
                        help="px left out at each edge for the style and content distances: the painter paints the "
                             "frame's edge in its own way, and the stabiliser moves the frame by up to 4 px")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--size-frames", type=int, default=6, help="frames of the 720p clips judging the flow's size")
    parser.add_argument("--exact-only", action="store_true", help="only the clips whose motion is known exactly")
    parser.add_argument("--skip", nargs="*", default=[], choices=["quality", "drift", "flow_size", "cost"])
    parser.add_argument("--out", type=Path, default=Path("bench_steady.json"))
    args = parser.parse_args()
    device = pick_device("cpu")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    result = {"device": describe_device(device), "painter": args.painter, "size": f"{args.width}x{args.height}",
              "frames": args.frames, "default_strength": DEFAULT_STRENGTH}
    if "quality" not in args.skip:
        result["quality"] = quality(args, device)
    if "drift" not in args.skip:
        result["drift"] = drift(args, device)
    if "flow_size" not in args.skip:
        result["flow_size"] = flow_size(args, device)
    if "cost" not in args.skip:
        result["cost"] = cost(args)
    write_json(args.out, result)
    if "quality" in result:
        print("\n| painter | clip | S | flicker × input | style | sharpness | trail levels |\n" + "|---" * 7 + "|")
        for r in result["quality"]:
            trail = f"{r['trail_levels']:.2f}" if r.get("trail_levels") is not None else "–"
            print(f"| {r['painter']} | {r['clip']}{'' if r['exact_flow'] else ' (DIS)'} | {r['strength']:g} | "
                  f"{r['ratio']:.2f} | {100 * r['style_change']:+.1f}% | {r['sharpness_ratio']:.2f} | {trail} |")


if __name__ == "__main__":
    main()
