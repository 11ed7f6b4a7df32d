"""Inference speed: frames per second per engine and resolution, model-only and end to end.

Every figure is also given as a ratio to the baseline measured in the same run: PyTorch eager fp32 at
batch 1 (the pytorch/examples way). Model-only times ``engine(frames)`` (uint8 in, uint8 out, host
to host) as the median of ``--repeats`` runs after a warm-up, with peak GPU memory on CUDA; end-to-end
renders a clip made from a photo pan (decode + stylise + encode, H.264) and also reports the seconds
spent in each stage.

    python scripts/bench_infer.py -m vangogh_starry_night --sizes 360p 720p 1080p --out bench.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infer.__main__ import verification_photos  # noqa: E402
from infer.engines import Engine, OnnxEngine, TorchEngine, find_painter  # noqa: E402
from infer.export import export_painter  # noqa: E402
from infer.video import RenderOptions, stylize_video, write_video  # noqa: E402
from nets.device import describe_device  # noqa: E402
from nets.files import atomic_path  # noqa: E402

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


def engines_for(painter: str, device: torch.device, workdir: Path) -> dict[str, tuple[Engine, int]]:
    """(engine, batch) per label; the baseline first. ONNX files are exported (and verified) here."""
    files = find_painter(painter)
    cuda = device.type == "cuda"
    chosen: dict[str, tuple[Engine, int]] = {BASELINE: (TorchEngine(files.pt, device, half=False), 1)}
    if cuda:
        chosen["torch fp16 channels_last b4"] = (TorchEngine(files.pt, device, half=True), 4)
        compiled = TorchEngine(files.pt, device, half=True)
        compiled.module = torch.compile(compiled.module, mode="reduce-overhead")  # Inductor + CUDA graphs
        chosen["torch fp16 compiled+cudagraphs b4"] = (compiled, 4)
    precisions = ["fp32", "fp16"] if cuda else ["fp32"]
    for precision in precisions:
        path = workdir / f"painter.{precision}.onnx"
        export_painter(files.pt, path, verification_photos(), fp16=precision == "fp16")
        onnx_engine = OnnxEngine(path, device)
        provider = "cuda" if onnx_engine.on_gpu else "cpu"
        for batch in (1, 4):
            chosen[f"onnx {provider} {precision} b{batch}"] = (onnx_engine, batch)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="vangogh_starry_night")
    parser.add_argument("--sizes", nargs="+", default=["360p", "720p", "1080p"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--clip-frames", type=int, default=8, help="frames of the end-to-end clip")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("bench_infer.json"))
    args = parser.parse_args()
    device = torch.device(args.device)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        engines = engines_for(args.painter, device, workdir)
        for size_name in args.sizes:
            frames = pan_frames(SIZES[size_name], max(4, args.clip_frames))
            clip = workdir / f"{size_name}.mp4"
            write_video(clip, frames[: args.clip_frames], fps=30)
            baseline = {}
            for label, (engine, batch) in engines.items():
                batch_frames = np.stack(frames[:batch])
                seconds = time_model(engine, batch_frames, args.repeats, device)
                fps = batch / seconds
                baseline.setdefault("model", fps)
                results.append({"mode": "model", "size": size_name, "engine": label, "batch": batch,
                                "fps": fps, "vs_baseline": fps / baseline["model"]} | gpu_memory_mib(device))
                print(f"{size_name:>6} model {label:<30} {fps:8.2f} frames/s", flush=True)

                stats = stylize_video(clip, workdir / "out.mp4", engine,
                                      RenderOptions(batch_size=batch, progress=False, preset="veryfast"))
                (workdir / "out.mp4").unlink()
                fps = stats.fps
                baseline.setdefault("end_to_end", fps)
                results.append({"mode": "end_to_end", "size": size_name, "engine": label, "batch": batch,
                                "fps": fps, "vs_baseline": fps / baseline["end_to_end"],
                                "stage_seconds": stats.stage_seconds, "frames": stats.frames})
                print(f"{size_name:>6} e2e   {label:<30} {fps:8.2f} frames/s  stages {stats.stage_seconds}", flush=True)

    report = {
        "device": describe_device(device),
        "torch": torch.__version__, "onnxruntime": ort.__version__, "painter": args.painter,
        "baseline": f"{BASELINE} batch 1", "repeats": args.repeats, "clip_frames": args.clip_frames,
        "results": results,
    }
    with atomic_path(args.out) as tmp_out:
        tmp_out.write_text(json.dumps(report, indent=2) + "\n")
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
