"""Every CPU path a painter can take, in one run: frames/s, how far from the CPU's limit, how far from fp32.

Model-only: one frame (batch 1, as a photo, a preview or a live camera gives them) of a real photo at each
size, every path timed in turn, round after round, median kept. Each row's G op/s is given as a fraction
of the same precision's 3×3 convolution peak measured in the same rounds (``scripts.bench.cpu_limit``),
and its pictures are compared with PyTorch fp32 eager of the same painter (max and mean levels, PSNR).

Paths: the defaults before prebuilt painters (ONNX Runtime fp32 for photos and short clips; compiled fp32
for long clips), eager, compiled and prebuilt (``infer.prebuilt``) in fp32 and bf16 (channels-last; bf16
only where the CPU has it, unless ``--emulated-bf16``), int8 ONNX Runtime (static quantisation of the
convolutions, calibrated on training photos; instance norms stay in float) and, with ``--fast``, the fast
family on its paths. ``--paths`` keeps some.

End to end (``--clip-frames``): a clip cut from the cockatoo clip, decoded, painted, stabilised and
encoded by ``infer.video``, with what ``auto`` chose before (ONNX Runtime fp32, compiled fp32 for a long
clip) and what it chooses now (prebuilt where ``python -m infer prebuild`` has run);
as a short clip (the workload of 3 seconds at 30 frames/s) and as a long one (``workload`` past
``COMPILE_PAYS_PIXELS``: the compiled engines).

    python -m scripts.bench.cpu_paths --painter four_painters --fast four_painters_fast --shared ../shared \\
        --out docs/bench/cpu_paths_2core.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from infer import prebuilt
from infer.networks import OnnxNetwork
from infer.painters import find_painter
from infer.plan import COMPILE_PAYS_PIXELS, open_network
from infer.precision import difference
from infer.stylizer import Stylizer
from infer.video import RenderOptions, stylize_video, write_video
from nets.device import describe_device, native_bf16
from nets.files import write_json
from nets.images import read_clip
from nets.painter import painter_names, read_painter
from scripts.bench.cpu_limit import against_limit, limit_cell, painter_flops_per_pixel, timed_rounds, variants

SIZES = {"360p": (640, 360), "720p": (1280, 720)}
ROOT = Path(__file__).resolve().parents[2]
#: The convolution peak each precision is measured against.
LIMIT_ROWS = {"fp32": "conv 3×3 fp32, channels-last", "bf16": "conv 3×3 bf16, channels-last",
              "int8": "conv 3×3 int8"}


def quantized_export(painter: str, folder: Path, photos: list[Path]) -> Path:
    """The painter's ONNX graph with its convolutions in int8 (QDQ, weights per channel, activations per
    tensor from MinMax calibration on ``photos``); instance norms and everything else stay in float."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    source = find_painter(painter).files.onnx
    count = len(OnnxNetwork(source, torch.device("cpu")).painters)

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            frames = [np.asarray(Image.open(p).convert("RGB").resize((384, 256)))[None] for p in photos]
            eye = np.eye(count, dtype=np.float32)
            self.items = iter({"frames": f, "painter_weights": eye[k % count][None]} for k, f in enumerate(frames))

        def get_next(self) -> dict | None:
            return next(self.items, None)

    out = folder / f"{painter}.int8.onnx"
    quantize_static(str(source), str(out), Photos(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out


def paths(painter: str, fast: str | None, int8: Callable[[], Path]) -> list[tuple[str, str, str, Callable]]:
    """(label, family, precision, open) of every path. Prebuilt paths build their package first if this
    machine has none (minutes: run ``python -m infer prebuild`` ahead for clean first-call times)."""
    found = []
    for family, tag in ((painter, "full"), (fast, "fast")):
        if family is None:
            continue
        files = find_painter(family).files
        for label, engine, precision in (("onnx fp32", "onnx", "fp32"), ("torch fp32", "torch", "fp32"),
                                         ("compiled fp32", "compiled", "fp32"), ("prebuilt fp32", "prebuilt", "fp32"),
                                         ("torch bf16", "torch", "bf16"), ("compiled bf16", "compiled", "bf16"),
                                         ("prebuilt bf16", "prebuilt", "bf16")):
            found.append((f"{tag}: {label}", family, precision,
                          lambda f=files, e=engine, p=precision: open_network(f, e, "cpu", p)))
    found.append(("full: onnx int8", painter, "int8", lambda: OnnxNetwork(int8(), torch.device("cpu"))))
    return found


def psnr(got: np.ndarray, want: np.ndarray) -> float:
    mse = np.mean((got.astype(np.float64) - want.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def model_only(args: argparse.Namespace, int8: Callable[[], Path]) -> list[dict]:
    photo = Image.open(args.shared / "data" / "photos" / "val" / "bsds300_img_014.jpg").convert("RGB")
    frames = {size: np.asarray(photo.resize(wh, Image.Resampling.LANCZOS))[None] for size, wh in SIZES.items()}
    limit_calls = {name: call for name, call in variants(128, 180, 320).items()
                   if any(name.startswith(v) for v in LIMIT_ROWS.values())}
    calls: dict[str, tuple[Callable, float]] = dict(limit_calls)
    rows: dict[str, dict] = {}
    reference = {family: open_network(find_painter(family).files, "torch", "cpu", "fp32")
                 for family in filter(None, (args.painter, args.fast))}
    for label, family, precision, opener in paths(args.painter, args.fast, int8):
        if args.paths and not any(p in label for p in args.paths):
            continue
        if precision == "bf16" and not native_bf16() and not args.emulated_bf16:
            continue
        network = opener()
        weights = np.eye(len(network.painters), dtype=np.float32)[:1]
        ops = painter_flops_per_pixel(family)
        for size, frame in frames.items():
            tick = time.perf_counter()
            out = network(frame, weights)  # compiles a compiled engine, runs a precision's check
            first = time.perf_counter() - tick
            want = reference[family](frame, weights)
            diff = difference(out, want)
            name = f"{label} {size}"
            rows[name] = {"path": label, "family": family, "precision": precision, "size": size,
                          "description": network.description, "first_call_s": first, "max_diff": diff.max,
                          "mean_diff": diff.mean, "psnr_db": psnr(out, want)}
            calls[name] = (lambda n=network, f=frame, w=weights: n(f, w), ops * frame.shape[1] * frame.shape[2])
        print(f"opened {label}", flush=True)
    seconds = timed_rounds({name: call for name, (call, _) in calls.items()}, args.rounds)
    limits = {name: ops / seconds[name] / 1e9 for name, (_, ops) in limit_calls.items()}
    for name, row in rows.items():
        gops = calls[name][1] / seconds[name] / 1e9
        limit_name = next(n for n in limits if n.startswith(LIMIT_ROWS[row["precision"]]))
        row |= {"fps": 1 / seconds[name], "gops": gops, "limit": limit_name} | against_limit(gops, limits[limit_name])
    return [{"path": name, "gops": value} for name, value in limits.items()] + list(rows.values())


def end_to_end(args: argparse.Namespace) -> list[dict]:
    """Clips painted by ``infer.video`` as the command does, before (fp32 auto) and now (auto)."""
    rows = []
    source = read_clip(args.shared / "data" / "video" / "cockatoo_1280x720.mp4", 1280)[: args.clip_frames]
    with tempfile.TemporaryDirectory() as tmp:
        for size, (w, h) in SIZES.items():
            clip = Path(tmp) / f"clip_{size}.mp4"
            write_video(clip, [np.asarray(Image.fromarray(f).resize((w, h))) for f in source], fps=20)
            # The workload the command passes for a 3-second clip at 30 frames/s, and for one that repays compiling.
            pixels = {"short clip": 90.0 * w * h, "long clip": COMPILE_PAYS_PIXELS["cpu"]}
            for family in filter(None, (args.painter, args.fast)):
                for kind, workload in pixels.items():
                    # Before: ONNX Runtime fp32, or compiled fp32 for a long clip; now: whatever auto picks.
                    before = "compiled" if workload >= COMPILE_PAYS_PIXELS["cpu"] else "onnx"
                    for when, engine_name, precision in (("before", before, "fp32"), ("now", "auto", "auto")):
                        stylizer = Stylizer(family, engine_name, device="cpu", precision=precision, workload=workload)
                        engine = stylizer.engine
                        stylize_video(clip, Path(tmp) / "warm.mp4", engine, RenderOptions(progress=False, duration=0.2))
                        stats = stylize_video(clip, Path(tmp) / "out.mp4", engine, RenderOptions(progress=False))
                        rows.append({"size": size, "family": family, "clip": kind, "auto": when,
                                     "description": stylizer.network.description, "frames": stats.frames,
                                     "fps": stats.fps})
                        print(f"{size} {family} {kind} {when}: {stats.fps:.2f} frames/s "
                              f"({stylizer.network.description})", flush=True)
    return rows


def photo_commands(args: argparse.Namespace) -> list[dict]:
    """A photo painted with the family's first painter by the command a user types, timed from start to exit
    (Python, torch and the painter loaded, the photo read, painted and written): before (ONNX Runtime fp32,
    run from ``--before-tree``: a checkout of an earlier commit) and now (``auto``, this tree), with the
    painters prebuilt for this machine (where ``python -m infer prebuild`` has run) and without (an empty
    ``$PAINTERS_CACHE``)."""
    photo = Image.open(args.shared / "data" / "photos" / "val" / "bsds300_img_014.jpg").convert("RGB")
    rows, calls = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for size, wh in SIZES.items():
            source = Path(tmp) / f"photo_{size}.png"
            photo.resize(wh, Image.Resampling.LANCZOS).save(source)
            for family in filter(None, (args.painter, args.fast)):
                painter = painter_names(read_painter(find_painter(family).files.first))[0]  # one painter, as usual
                for when, tree, engine in (("before", args.before_tree, ["--engine", "onnx", "--precision", "fp32"]),
                                           ("now, nothing prebuilt", ROOT, []), ("now", ROOT, [])):
                    command = [sys.executable, "-m", "infer", "image", str(source), "-o", str(Path(tmp) / "out.png"),
                               "-m", painter, *(["--fast"] if family == args.fast else []), "--overwrite", *engine]
                    empty = {prebuilt.CACHE_VARIABLE: str(Path(tmp) / "empty")}
                    env = os.environ | (empty if "nothing" in when else {})
                    said = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
                    rows.append({"size": size, "family": family, "auto": when, "tree": str(tree), "said": said.strip()})
                    name = f"{size} {family} {when}"
                    calls[name] = lambda c=command, t=tree, e=env: subprocess.run(c, cwd=t, env=e, capture_output=True,
                                                                                 check=True)
        seconds = timed_rounds(calls, args.photo_rounds)
    for row, name in zip(rows, calls, strict=True):
        row["seconds"] = seconds[name]
        print(f"photo {name}: {seconds[name]:.2f} s ({row['said']})", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--painter", default="four_painters")
    parser.add_argument("--fast", default=None, help="the fast family's name, to time it too")
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clip-frames", type=int, default=24, help="0: no end-to-end rows")
    parser.add_argument("--no-model", action="store_true", help="only the end-to-end rows")
    parser.add_argument("--paths", nargs="*", default=None,
                        help="only the model-only paths whose label holds one of these words (e.g. 'onnx fp32')")
    parser.add_argument("--emulated-bf16", action="store_true",
                        help="time the bf16 paths on a CPU without bf16 in hardware too (slow: no verdict there)")
    parser.add_argument("--photo-rounds", type=int, default=0,
                        help="time `python -m infer image` on a photo this many rounds (0: not)")
    parser.add_argument("--before-tree", type=Path, default=ROOT,
                        help="checkout the 'before' photo commands run from (e.g. a git worktree of an older commit)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, default=Path("cpu_paths.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = []
    with tempfile.TemporaryDirectory() as tmp:
        calibration = sorted((args.shared / "data" / "photos" / "train").glob("*.jpg"))[::25][:16]
        if not args.no_model:
            model = model_only(args, lambda: quantized_export(args.painter, Path(tmp), calibration))
    clips = end_to_end(args) if args.clip_frames else []
    photos = photo_commands(args) if args.photo_rounds else []
    write_json(args.out, {"device": describe_device(torch.device("cpu")), "threads": args.threads,
                          "torch": torch.__version__, "model_only": model, "end_to_end": clips,
                          "photo_commands": photos})
    print(f"\n{describe_device(torch.device('cpu'))}, {args.threads} threads, torch {torch.__version__}\n")
    print("| path | size | frames/s | G op/s | of the limit | max / mean diff vs fp32 (levels) | PSNR (dB) |")
    print("|---|---|---|---|---|---|---|")
    for row in model:
        if "size" not in row:
            print(f"| {row['path']} (the limit) | | | {row['gops']:.0f} | 1.00 | | |")
            continue
        print(f"| {row['path']} | {row['size']} | {row['fps']:.2f} | {row['gops']:.0f} | "
              f"{limit_cell(row)} | {row['max_diff']} / {row['mean_diff']:.2f} | {row['psnr_db']:.1f} |")
    if clips:
        print("\n| size | family | clip | auto | engine | frames/s |\n|---|---|---|---|---|---|")
        for row in clips:
            print(f"| {row['size']} | {row['family']} | {row['clip']} | {row['auto']} | {row['description']} | "
                  f"{row['fps']:.2f} |")
    if photos:
        print("\n| size | family | auto | seconds, start to exit | said |\n|---|---|---|---|---|")
        for row in photos:
            print(f"| {row['size']} | {row['family']} | {row['auto']} | {row['seconds']:.2f} | {row['said']} |")


if __name__ == "__main__":
    main()
