"""Tiles with shared statistics: how close to one full pass, how much memory and time, and the seam they avoid.

1. Quality: photos at 1280×720 and 2048×1536, tiled (cores of ``--core`` px) with statistics from
   thumbnails of several sizes and measured over the tiles (the default), against the plain full pass: mean
   absolute difference (levels) and PSNR, and the time of both kinds; and tiles each with their own statistics
   (the seams of cutting a frame by hand), for comparison.
2. Memory and time: ``python -m infer image`` on 3000×2000, 8000×6000 and 12000×9000 photos, peak RSS of the
   process and wall time: with the default settings (strokes sized to the photo: the painter sees 1024 px)
   and with ``--stroke-size 1`` (the painter sees every pixel, in tiles).
3. The seed's case: a 720p clip cut in 4 tiles against one pass, and a picture of a seam: per-tile
   statistics next to shared ones.

    python -m scripts.bench.tiles --clip ../shared/data/video/cockatoo_1280x720.mp4 \\
        --photo ../shared/data/photos/val/bsds300_img_014.jpg --out docs/bench/tiles_cpu_2core.json \\
        --picture docs/tiles_seam.jpg
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from infer.networks import OnnxNetwork, TorchNetwork
from infer.painters import find_painter
from infer.sheet import caption, save_grid
from infer.tiles import boxes, stylize_tiled, thumbnail
from nets.device import pick_device
from nets.files import write_json
from nets.images import read_clip

ROOT = Path(__file__).resolve().parents[2]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))


def own_statistics(network: OnnxNetwork, frame: np.ndarray, weights: np.ndarray, core: int) -> np.ndarray:
    """Each tile normalised with its own statistics: what cutting a frame into tiles by hand gives."""
    out = np.empty_like(frame)
    for rows, cols, core_rows, core_cols in boxes(*frame.shape[:2], core):
        out[rows, cols][core_rows, core_cols] = network.whole(
            np.ascontiguousarray(frame[rows, cols])[None], weights[None])[0][core_rows, core_cols]
    return out


def compare(network: OnnxNetwork, frame: np.ndarray, weights: np.ndarray, core: int, sides: list[int]) -> dict:
    plain = network.whole(frame[None], weights[None])[0]
    row = {"size": f"{frame.shape[1]}x{frame.shape[0]}", "core": core}
    for side in sides:
        stats = network.statistics(thumbnail(frame, side)[None], weights[None])
        tiled = stylize_tiled(frame, weights, core, network.statistics, network.tile, stats=stats)
        row[f"thumbnail {side}"] = {"mean_abs_diff": float(np.abs(tiled.astype(int) - plain).mean()),
                                    "psnr_db": psnr(tiled, plain)}
    tick = time.perf_counter()
    exact = stylize_tiled(frame, weights, core, network.statistics, network.tile, measuring=network.measuring())
    seconds = time.perf_counter() - tick
    tick = time.perf_counter()
    stylize_tiled(frame, weights, core, network.statistics, network.tile)
    thumbnail_seconds = time.perf_counter() - tick
    row["measured over the tiles"] = {"mean_abs_diff": float(np.abs(exact.astype(int) - plain).mean()),
                                      "max_abs_diff": int(np.abs(exact.astype(int) - plain).max()),
                                      "psnr_db": psnr(exact, plain), "seconds": seconds,
                                      "seconds_with_a_thumbnail": thumbnail_seconds}
    own = own_statistics(network, frame, weights, core)
    row["per-tile statistics"] = {"mean_abs_diff": float(np.abs(own.astype(int) - plain).mean()),
                                  "psnr_db": psnr(own, plain)}
    return row


def memory_and_time(painter: str, size: tuple[int, int], source: Path, work: Path, stroke: str = "photo") -> dict:
    """``python -m infer image`` on a photo of ``size``, in its own process: peak RSS and wall time.
    ``stroke``: "photo" (the default: sized to the photo) or a ``--stroke-size``."""
    photo = work / f"photo_{size[0]}x{size[1]}.jpg"
    Image.open(source).convert("RGB").resize(size, Image.Resampling.BICUBIC).save(photo, quality=92)
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run([sys.executable, '-m', 'infer', 'image', *sys.argv[1:]], capture_output=True); "
            "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
            "r.stderr.decode()[-300:].replace(chr(10), ' '))")
    strokes = [] if stroke == "photo" else ["--stroke-size", stroke]
    out = subprocess.run([sys.executable, "-c", code, str(photo), "-m", painter, "-o", str(work / "out.jpg"),
                          "--overwrite", *strokes], cwd=ROOT, capture_output=True, text=True)
    code_, seconds, rss_kb, *error = out.stdout.split(maxsplit=3)
    return {"size": f"{size[0]}x{size[1]}", "strokes": stroke, "megapixels": size[0] * size[1] / 1e6,
            "exit": int(code_),
            "seconds": float(seconds), "peak_rss_gb": int(rss_kb) / 2**20, "error": " ".join(error)[-200:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="munch_the_scream")
    parser.add_argument("--photo", type=Path, required=True, help="the picture scaled to every size tried")
    parser.add_argument("--clip", type=Path, required=True, help="a 720p clip")
    parser.add_argument("--clip-frames", type=int, default=20)
    parser.add_argument("--core", type=int, default=512, help="tile core side for the quality comparison")
    parser.add_argument("--thumbnails", type=int, nargs="+", default=[512, 1024, 2048],
                        help="longest sides of the thumbnails to compare (MIN_THUMBNAIL and up)")
    parser.add_argument("--big", nargs="*", default=["3000x2000", "8000x6000", "12000x9000"])
    parser.add_argument("--big-strokes", nargs="+", default=["photo", "1"],
                        help="stroke sizes the big photos are painted with: photo (the default) or a number")
    parser.add_argument("--precision", default="onnx", choices=["onnx", "fp32", "bf16"],
                        help="the network compared: ONNX Runtime fp32, or PyTorch eager in fp32 or bf16")
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "2048x1536"], help="photo sizes compared")
    parser.add_argument("--out", type=Path, default=Path("bench_tiles.json"))
    parser.add_argument("--picture", type=Path, default=None, help="where to draw the seam comparison")
    args = parser.parse_args()
    ref = find_painter(args.painter)
    network = OnnxNetwork(ref.files.onnx, pick_device("cpu")) if args.precision == "onnx" else \
        TorchNetwork(ref.files.pt, pick_device("cpu"), args.precision)
    names = [p["name"] for p in network.painters]
    weights = np.eye(len(names), dtype=np.float32)[names.index(ref.painter or names[0])]
    source = Image.open(args.photo).convert("RGB")
    results: dict = {"painter": args.painter, "engine": network.description, "quality": [], "clip": {}, "big": []}

    frames = read_clip(args.clip)[: args.clip_frames]
    for text in args.sizes:
        size = tuple(int(v) for v in text.split("x"))
        frame = frames[0] if size == frames[0].shape[1::-1] else np.asarray(source.resize(size,
                                                                                          Image.Resampling.BICUBIC))
        results["quality"].append(compare(network, frame, weights, args.core, args.thumbnails))
        print(json.dumps(results["quality"][-1]), flush=True)

    core = frames[0].shape[1] // 2  # 4 tiles of a 720p frame, as the seed cut them
    plain = [network.whole(f[None], weights[None])[0] for f in frames]
    shared = [stylize_tiled(f, weights, core, network.statistics, network.tile) for f in frames]
    own = [own_statistics(network, f, weights, core) for f in frames]
    results["clip"] = {"frames": len(frames), "core": core,
                       "shared_mean_abs_diff": float(np.mean([np.abs(a.astype(int) - b).mean()
                                                              for a, b in zip(shared, plain, strict=True)])),
                       "per_tile_mean_abs_diff": float(np.mean([np.abs(a.astype(int) - b).mean()
                                                                for a, b in zip(own, plain, strict=True)]))}
    print(json.dumps(results["clip"]), flush=True)
    if args.picture:
        top, left = frames[0].shape[0] // 2 - 60, core - 80  # around the crossing of the four tiles
        crops = [Image.fromarray(image[top:top + 120, left:left + 160]).resize((480, 360), Image.Resampling.NEAREST)
                 for image in (own[0], shared[0], plain[0])]
        save_grid([[caption("per-tile statistics (seams)"), caption("shared statistics (tiles)"),
                    caption("one pass")], crops], args.picture)

    with tempfile.TemporaryDirectory() as tmp:
        for text in args.big:
            width, height = (int(v) for v in text.split("x"))
            for stroke in args.big_strokes:
                started = time.perf_counter()
                results["big"].append(memory_and_time(args.painter, (width, height), args.photo, Path(tmp), stroke))
                print(json.dumps(results["big"][-1]), f"({time.perf_counter() - started:.0f} s)", flush=True)
    results["peak_rss_of_this_process_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    write_json(args.out, results)

    print(f"\n{args.painter} on {network.description}; tile cores of {args.core} px")
    print("| photo | " + " | ".join(f"thumbnail {s}" for s in args.thumbnails)
          + " | measured over the tiles | per-tile statistics | s measured / thumbnail |")
    print("|---|" + "---|" * (len(args.thumbnails) + 3))
    for row in results["quality"]:
        cells = [row[f"thumbnail {s}"] for s in args.thumbnails] + [row["measured over the tiles"],
                                                                    row["per-tile statistics"]]
        measured = row["measured over the tiles"]
        print(f"| {row['size']} | " + " | ".join(f"{c['mean_abs_diff']:.2f} lv, {c['psnr_db']:.1f} dB" for c in cells)
              + f" | {measured['seconds']:.1f} / {measured['seconds_with_a_thumbnail']:.1f} |")
    clip = results["clip"]
    print(f"\n720p clip in 4 tiles, {clip['frames']} frames: shared statistics {clip['shared_mean_abs_diff']:.2f} "
          f"levels from one pass, per-tile statistics {clip['per_tile_mean_abs_diff']:.2f}")
    print("\n| photo | strokes | MP | exit | seconds | peak RSS GB |\n|---|---|---|---|---|---|")
    for row in results["big"]:
        print(f"| {row['size']} | {row['strokes']} | {row['megapixels']:.0f} | {row['exit']} | {row['seconds']:.0f} | "
              f"{row['peak_rss_gb']:.2f} |")


if __name__ == "__main__":
    main()
