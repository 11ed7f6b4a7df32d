"""Inference speed: frames per second per engine and resolution, model-only and end to end.

Every figure is also given as a ratio to the baseline measured in the same run: PyTorch eager fp32 at
batch 1 (the pytorch/examples way). Model-only times ``engine(frames)`` (uint8 in, uint8 out, host
to host) as the median of ``--repeats`` runs after a warm-up, with peak GPU memory on CUDA; end-to-end
renders a clip made from a photo pan (decode + stylise + encode, H.264) and also reports the seconds
spent in each stage.

    python -m scripts.bench_infer -m vangogh_starry_night --sizes 360p 720p 1080p --out bench.json
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from skimage import data

from infer.engines import Engine, Network, OnnxNetwork, TorchNetwork, painter_engines
from infer.export import (
    export_painter,
    verification_photos,
)
from infer.painters import find_painter
from infer.video import RenderOptions, stylize_video, write_video
from nets.device import describe_device
from nets.files import write_json

SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
BASELINE = "torch fp32"


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
    peak = torch.cuda.max_memory_allocated(device)
    return {"torch_peak_mib": peak / 2**20, "device_used_mib": (total - free) / 2**20}


def time_model(engine: Engine, frames: np.ndarray, repeats: int, device: torch.device) -> float:
    """Median seconds per call after warm-up calls (three: torch.compile's CUDA graphs record on the second)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(3):
        engine(frames)
    times = []
    for _ in range(repeats):
        sync(device)
        tick = time.perf_counter()
        engine(frames)
        sync(device)
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def engine_factories(painter: str, device: torch.device, workdir: Path) -> dict[str, tuple[Callable[[], Engine], int]]:
    """(make engine, batch) per label; the baseline first. ONNX files are exported (and verified) here.

    Engines are made one at a time and freed after use: every engine kept alive holds its own GPU
    buffers (ONNX Runtime's arena, CUDA graph pools), and together they run a 4K frame out of memory.
    """
    ref = find_painter(painter)
    pt = ref.files.pt
    cuda = device.type == "cuda"

    def on(network: Network) -> Engine:
        return painter_engines(network, ref.painter)[0]

    def compiled() -> Engine:
        network = TorchNetwork(pt, device, half=True)
        network.module = torch.compile(network.module, mode="reduce-overhead", dynamic=False)  # Inductor + CUDA graphs
        return on(network)

    chosen: dict[str, tuple[Callable[[], Engine], int]] = {
        BASELINE: (lambda: on(TorchNetwork(pt, device, half=False)), 1)}
    if cuda:
        chosen["torch fp16 b4"] = (lambda: on(TorchNetwork(pt, device, half=True)), 4)
        chosen["torch fp16 compiled+cudagraphs b4"] = (compiled, 4)
    for precision in ["fp32", "fp16"] if cuda else ["fp32"]:
        path = workdir / f"painter.{precision}.onnx"
        export_painter(pt, path, verification_photos(), fp16=precision == "fp16")
        provider = "cuda" if OnnxNetwork(path, device).on_gpu else "cpu"
        for batch in (1, 4):
            chosen[f"onnx {provider} {precision} b{batch}"] = (lambda path=path: on(OnnxNetwork(path, device)), batch)
    return chosen


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="vangogh_starry_night")
    parser.add_argument("--sizes", nargs="+", default=["360p", "720p", "1080p"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--clip-frames", type=int, default=8, help="frames of the end-to-end clip")
    parser.add_argument("--end-to-end-sizes", nargs="*", choices=list(SIZES),
                        help="sizes to render end to end (default: all of --sizes)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("bench_infer.json"))
    args = parser.parse_args()
    device = torch.device(args.device)
    end_to_end_sizes = args.sizes if args.end_to_end_sizes is None else args.end_to_end_sizes

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        factories = engine_factories(args.painter, device, workdir)
        for size_name in args.sizes:
            frames = pan_frames(SIZES[size_name], max(4, args.clip_frames))
            clip = workdir / f"{size_name}.mp4"
            if size_name in end_to_end_sizes:
                write_video(clip, frames[: args.clip_frames], fps=30)
            baseline = {}
            for label, (make_engine, batch) in factories.items():
                engine = make_engine()
                batch_frames = np.stack(frames[:batch])
                seconds = time_model(engine, batch_frames, args.repeats, device)
                fps = batch / seconds
                baseline.setdefault("model", fps)
                results.append({"mode": "model", "size": size_name, "engine": label, "batch": batch,
                                "fps": fps, "vs_baseline": fps / baseline["model"]} | gpu_memory_mib(device))
                print(f"{size_name:>6} model {label:<30} {fps:8.2f} frames/s", flush=True)

                if size_name in end_to_end_sizes:
                    stats = stylize_video(clip, workdir / "out.mp4", engine,
                                          RenderOptions(batch_size=batch, progress=False, preset="veryfast"))
                    (workdir / "out.mp4").unlink()
                    fps = stats.fps
                    baseline.setdefault("end_to_end", fps)
                    results.append({"mode": "end_to_end", "size": size_name, "engine": label, "batch": batch,
                                    "fps": fps, "vs_baseline": fps / baseline["end_to_end"],
                                    "stage_seconds": stats.stage_seconds, "frames": stats.frames})
                    print(f"{size_name:>6} e2e   {label:<30} {fps:8.2f} frames/s  stages {stats.stage_seconds}",
                          flush=True)
                del engine
                free(device)

    report = {
        "device": describe_device(device),
        "torch": torch.__version__, "onnxruntime": ort.__version__, "painter": args.painter,
        "baseline": f"{BASELINE} batch 1", "repeats": args.repeats, "clip_frames": args.clip_frames,
        "results": results,
    }
    write_json(args.out, report)
    print(f"\n{report['device']}; torch {report['torch']}, onnxruntime {report['onnxruntime']}")
    print(f"| size | mode | engine | batch | frames/s | × baseline ({BASELINE} b1) | GPU MiB (torch peak / used) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        memory = f"{r['torch_peak_mib']:.0f} / {r['device_used_mib']:.0f}" if "torch_peak_mib" in r else ""
        print(f"| {r['size']} | {r['mode']} | {r['engine']} | {r['batch']} | {r['fps']:.2f} | {r['vs_baseline']:.2f} "
              f"| {memory} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
