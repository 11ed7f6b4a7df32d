"""Where the painter network's GPU time goes: memory layout and precision, then the top kernels.

Times the painter's network alone (no host transfers, no decoding) on a batch of frames in fp32/fp16
and NCHW/channels_last, with each output's largest difference from fp32 NCHW in 8-bit levels; then,
with ``--profile``, the PyTorch profiler's top kernels for that batch (eager, or ``--compiled`` by
Inductor) and for one training step (bf16 autocast, the trainer's losses). Prints tables and writes JSON.

    python -m scripts.bench.profile_transformer -m vangogh_starry_night --vgg-weights ../shared/weights --profile
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from infer.painters import find_painter
from nets.device import describe_device, pick_device
from nets.files import write_json
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss, total_variation
from nets.painter import load_painter, painter_names
from nets.vgg import VGGFeatures

LAYOUTS = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def frames_per_second(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    with torch.inference_mode():
        for _ in range(3):
            y = model(x)
        sync(x.device)
        tick = time.perf_counter()
        for _ in range(repeats):
            y = model(x)
        sync(x.device)
    return repeats * len(x) / (time.perf_counter() - tick), y.float().clamp(0, 1)


def top_kernels(fn, device: torch.device, rows: int) -> str:
    for _ in range(3):
        fn()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        fn()
        sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--painter", default="vangogh_starry_night")
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--profile", action="store_true", help="also print the top kernels")
    parser.add_argument("--compiled", action="store_true",
                        help="profile the network compiled by Inductor (without CUDA graphs, so kernels show)")
    parser.add_argument("--vgg-weights", default="", help="for the training step profile")
    parser.add_argument("--train-size", type=int, default=256)
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("profile_transformer.json"))
    args = parser.parse_args()
    device = pick_device(args.device)
    ref = find_painter(args.painter)
    model, payload = load_painter(ref.files.pt)
    names = painter_names(payload)
    model = model.blended(torch.eye(len(names))[names.index(ref.painter or names[0])]).to(device).eval()
    frames = torch.rand(args.batch, 3, args.height, args.width, device=device)

    rows, outputs = [], {}
    for dtype in (torch.float32, torch.float16) if device.type == "cuda" else (torch.float32,):
        for layout, memory_format in LAYOUTS.items():
            net = model.to(dtype=dtype, memory_format=memory_format)
            fps, outputs[(dtype, layout)] = frames_per_second(
                net, frames.to(dtype).contiguous(memory_format=memory_format), args.repeats)
            rows.append({"precision": str(dtype).removeprefix("torch."), "layout": layout, "fps": fps})
    reference = outputs[(torch.float32, "NCHW")]
    for row, output in zip(rows, outputs.values(), strict=True):
        row["max_diff_levels"] = (output - reference).abs().max().item() * 255

    report = {"device": describe_device(device), "torch": torch.__version__, "painter": args.painter,
              "frames": f"{args.batch} x {args.width}x{args.height}", "rows": rows}
    write_json(args.out, report)
    print(f"{report['device']}, {report['frames']}, network only")
    print("| precision | layout | frames/s | max diff vs fp32 NCHW (levels) |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['precision']} | {row['layout']} | {row['fps']:.1f} | {row['max_diff_levels']:.2f} |")

    if args.profile:
        half = model.to(dtype=torch.float16 if device.type == "cuda" else torch.float32,
                        memory_format=torch.contiguous_format)
        x = frames.to(next(half.parameters()).dtype)
        run = torch.compile(half, dynamic=False) if args.compiled else half
        kind = "compiled" if args.compiled else "eager"
        with torch.inference_mode():
            table = top_kernels(lambda: run(x), device, 16)
        print(f"\n==== inference ({kind}), {report['frames']}\n" + table)
        report["inference_profile"] = {"kind": kind, "table": table}
        write_json(args.out, report)
        if args.vgg_weights:
            net = model.float().train()
            vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, args.vgg_weights)
            criterion = PerceptualLoss(vgg, torch.rand(1, 3, args.train_size, args.train_size)).to(device)
            optimizer = torch.optim.Adam(net.parameters())
            photos = torch.rand(args.train_batch, 3, args.train_size, args.train_size, device=device)

            def step() -> None:
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                    out = net(photos)
                    content, style = criterion(out, photos)
                    loss = content.mean() + 5 * style.mean() + total_variation(out.float()).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

            print(f"\n==== training step, batch {args.train_batch} at {args.train_size} px\n"
                  + top_kernels(step, device, 12))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
