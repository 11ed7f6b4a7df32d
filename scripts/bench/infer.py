"""Inference speed: frames per second per engine and frame size, model-only and end to end, and the seed's job.

Every figure is also given as a ratio to the baseline measured in the same run: PyTorch eager fp32 at
batch 1 (the pytorch/examples way). Model-only times ``engine(frames)`` (uint8 in, uint8 out, host to
host) as the median of ``--repeats`` runs after warm-up runs, which compile (compiled engine) and check
fp16 against fp32; their seconds and the check's difference are reported, with peak GPU memory. End to end
renders a clip made from a photo pan (decode + stylise + encode) with each of ``--encoders`` and reports the
seconds of each stage. ``--seed-job``: the first user's job, four 300-frame 720p clips rendered end to end
by one Stylizer with the engine ``auto`` picks (and the compiled one), wall time from opening the painter.

    python -m scripts.bench.infer --sizes 1080p 4k --end-to-end-sizes 1080p --encoders nvenc x264 --seed-job
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from skimage import data

from infer.engines import Engine, painter_engines
from infer.export import export_painter, verification_photos
from infer.networks import OnnxNetwork, TorchNetwork
from infer.painters import find_painter
from infer.plan import open_network
from infer.stylizer import Stylizer
from infer.video import RenderOptions, default_batch, nvenc_opens, stylize_video, write_video
from nets.device import describe_device
from nets.files import write_json

SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
BASELINE = "torch eager fp32"


@dataclass
class Candidate:
    """An engine to measure: how to open it, and its batch at a frame size (None: the default batch)."""

    label: str
    open: Callable[[], TorchNetwork | OnnxNetwork]
    batch: int | None = None


def pan_frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """A slow pan over a real photo (scikit-image's bundled coffee), so the encoder sees real motion."""
    width, height = size
    photo = Image.fromarray(data.coffee()).resize((width + 4 * count, height), Image.Resampling.BICUBIC)
    return [np.asarray(photo.crop((4 * i, 0, 4 * i + width, height))) for i in range(count)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gpu_memory_mib(device: torch.device) -> dict[str, float]:
    """Peak memory PyTorch allocated, and memory in use on the device (which includes ONNX Runtime's
    arena: it keeps its peak), since the last reset."""
    if device.type != "cuda":
        return {}
    free, total = torch.cuda.mem_get_info(device)
    return {"torch_peak_mib": torch.cuda.max_memory_allocated(device) / 2**20,
            "device_used_mib": (total - free) / 2**20}


def time_model(engine: Engine, frames: np.ndarray, repeats: int, device: torch.device) -> tuple[float, float, dict]:
    """(median seconds per call, seconds of the warm-up calls, GPU memory). Three warm-up calls: the first
    compiles and checks fp16 (its fp32 pass's memory is given back), CUDA graphs record on the second. The
    memory peak is that of the timed calls, what a long render holds."""
    tick = time.perf_counter()
    for _ in range(3):
        engine(frames)
    sync(device)
    warm_up = time.perf_counter() - tick
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(repeats):
        sync(device)
        tick = time.perf_counter()
        engine(frames)
        sync(device)
        times.append(time.perf_counter() - tick)
    return statistics.median(times), warm_up, gpu_memory_mib(device)


def candidates(painter: str, device: torch.device, workdir: Path) -> list[Candidate]:
    """The engines to measure, the baseline first. ONNX Runtime rows only where its provider runs on the
    device (a CPU-only ONNX Runtime on a GPU machine would take minutes a 4K frame and say nothing)."""
    files = find_painter(painter).files
    cuda = device.type == "cuda"
    chosen = [Candidate(BASELINE, lambda: open_network(files, "torch", str(device), "fp32"), batch=1)]
    precision = "fp16" if cuda else "fp32"
    if cuda:
        chosen.append(Candidate("torch eager fp16", lambda: open_network(files, "torch", str(device), "fp16")))
    chosen.append(Candidate(f"torch compiled {precision}", lambda: open_network(files, "compiled", str(device),
                                                                                precision)))
    if cuda and "CUDAExecutionProvider" not in ort.get_available_providers():
        print("onnxruntime has no CUDA provider here: its rows are left out")
        return chosen
    path = workdir / f"painter.{precision}.onnx"
    export_painter(files.pt, path, verification_photos(), fp16=cuda)
    chosen.append(Candidate(f"onnx {precision}" + (" tuned" if cuda else ""), lambda: OnnxNetwork(path, device)))
    if cuda:
        chosen.append(Candidate("onnx fp16 plain", lambda: OnnxNetwork(path, device, tuned=False)))
    return chosen


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def seed_job(painter: str, device: torch.device, engine: str, clip: Path, clips: int, frames: int, workdir: Path,
             encoder: str) -> dict:
    """``clips`` renders of a ``frames``-frame clip by one Stylizer, timed from opening the painter."""
    width, height = SIZES["720p"]
    tick = time.perf_counter()
    stylizer = Stylizer(painter, engine, str(device), workload=clips * frames * width * height)
    rendered = [stylizer.video(clip, workdir / f"seed_{k}.mp4", RenderOptions(progress=False, encoder=encoder),
                               overwrite=True) for k in range(clips)]
    seconds = time.perf_counter() - tick
    network = stylizer.network
    return {"mode": "seed_job", "engine": f"{engine}: {stylizer.engine.description}", "clips": clips,
            "frames": sum(r.frames for r in rendered), "seconds": seconds,
            "fps": sum(r.frames for r in rendered) / seconds, "encoder": rendered[0].encoder,
            "compile_s": sum(getattr(network, "compile_seconds", {}).values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="vangogh_starry_night")
    parser.add_argument("--sizes", nargs="+", default=["360p", "720p", "1080p"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--clip-frames", type=int, default=8, help="frames of the end-to-end clip")
    parser.add_argument("--end-to-end-sizes", nargs="*", choices=list(SIZES),
                        help="sizes to render end to end (default: all of --sizes)")
    parser.add_argument("--encoders", nargs="+", default=["auto"], choices=["auto", "nvenc", "x264"],
                        help="encoders of the end-to-end renders (x264 at preset veryfast)")
    parser.add_argument("--seed-job", action="store_true", help="also time four 300-frame 720p clips end to end")
    parser.add_argument("--seed-clips", type=int, default=4)
    parser.add_argument("--seed-frames", type=int, default=300)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("bench_infer.json"))
    args = parser.parse_args()
    device = torch.device(args.device)
    end_to_end_sizes = args.sizes if args.end_to_end_sizes is None else args.end_to_end_sizes
    encoders = [e for e in args.encoders if e != "nvenc" or nvenc_opens() is None]
    if encoders != args.encoders:
        print(f"NVENC cannot run here ({nvenc_opens()}): its rows are left out")

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        chosen = candidates(args.painter, device, workdir)
        for size_name in args.sizes:
            size = SIZES[size_name]
            frames = pan_frames(size, max(4, args.clip_frames))
            clip = workdir / f"{size_name}.mp4"
            if size_name in end_to_end_sizes:
                write_video(clip, frames[: args.clip_frames], fps=30, options=RenderOptions(preset="ultrafast",
                                                                                          encoder="x264"))
            baseline: dict[str, float] = {}
            for candidate in chosen:
                free(device)
                network = candidate.open()
                engine = painter_engines(network, find_painter(args.painter).painter)[0]
                batch = candidate.batch or default_batch(*size)
                seconds, warm_up, memory = time_model(engine, np.stack(frames[:batch]), args.repeats, device)
                fps = batch / seconds
                baseline.setdefault("model", fps)
                check = network.check.checked if network.check else {}
                row = {"mode": "model", "size": size_name, "engine": candidate.label, "batch": batch, "fps": fps,
                       "vs_baseline": fps / baseline["model"], "runs_on": network.description,
                       "warm_up_s": warm_up, "compile_s": sum(getattr(network, "compile_seconds", {}).values()),
                       "fp16_check": {f"{w}x{h}": str(d) for (h, w), d in check.items()}} | memory
                results.append(row)
                print(f"{size_name:>6} model {candidate.label:<22} b{batch} {fps:8.2f} frames/s  {network.description}"
                      f"  warm-up {warm_up:.1f} s", flush=True)
                for encoder in encoders if size_name in end_to_end_sizes else []:
                    stats = stylize_video(clip, workdir / "out.mp4", engine, RenderOptions(
                        batch_size=batch, progress=False, preset="veryfast", encoder=encoder))
                    (workdir / "out.mp4").unlink()
                    baseline.setdefault("end_to_end", stats.fps)
                    results.append({"mode": "end_to_end", "size": size_name, "engine": candidate.label,
                                    "batch": batch, "encoder": stats.encoder, "fps": stats.fps,
                                    "vs_baseline": stats.fps / baseline["end_to_end"],
                                    "stage_seconds": stats.stage_seconds, "frames": stats.frames})
                    print(f"{size_name:>6} e2e   {candidate.label:<22} b{batch} {stats.fps:8.2f} frames/s  "
                          f"{stats.encoder}  stages {stats.stage_seconds}", flush=True)
                del engine, network
        if args.seed_job:
            clip = workdir / "seed.mp4"
            write_video(clip, pan_frames(SIZES["720p"], args.seed_frames), fps=30,
                        options=RenderOptions(preset="ultrafast", encoder="x264"))
            for engine_word in ["auto", "compiled"]:
                free(device)
                row = seed_job(args.painter, device, engine_word, clip, args.seed_clips, args.seed_frames, workdir,
                               encoders[0])
                results.append(row)
                print(f"seed job ({engine_word}): {row['frames']} frames in {row['seconds']:.1f} s "
                      f"({row['engine']}, {row['encoder']}, compile {row['compile_s']:.1f} s)", flush=True)

    report = {"device": describe_device(device), "torch": torch.__version__, "onnxruntime": ort.__version__,
              "painter": args.painter, "baseline": f"{BASELINE} batch 1", "repeats": args.repeats,
              "clip_frames": args.clip_frames, "results": results}
    write_json(args.out, report)
    print(f"\n{report['device']}; torch {report['torch']}, onnxruntime {report['onnxruntime']}")
    print(f"| size | mode | engine | batch | frames/s | × baseline ({BASELINE} b1) | warm-up / compile s "
          "| GPU MiB (torch peak / used) or encoder |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        if r["mode"] == "seed_job":
            print(f"| 720p | seed job: {r['clips']} clips, {r['frames']} frames, {r['seconds']:.1f} s | {r['engine']} "
                  f"| | {r['fps']:.1f} | | {r['compile_s']:.1f} | {r['encoder']} |")
            continue
        extra = (f"{r['torch_peak_mib']:.0f} / {r['device_used_mib']:.0f}" if "torch_peak_mib" in r
                 else r.get("encoder", ""))
        timing = f"{r['warm_up_s']:.1f} / {r['compile_s']:.1f}" if r["mode"] == "model" else ""
        print(f"| {r['size']} | {r['mode']} | {r['engine']} | {r['batch']} | {r['fps']:.2f} | {r['vs_baseline']:.2f} "
              f"| {timing} | {extra} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
