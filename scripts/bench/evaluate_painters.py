"""Painters side by side on the numbers of the model cards, measured the same way for all of them.

For every painter of every painter file given (a family counts each of its painters): mean style and
content distance on a folder of photos (VGG16, Johnson et al.'s layers, each relative to its target;
the style image of the painter's own record at each of ``--style-sizes``, the same for every painter so
that painters trained at different style sizes compare fairly) and the warping error on a clip (Lai et al.
2018, flow on the input; the clip's own is the floor). Writes JSON and prints a table.

    python -m scripts.bench.evaluate_painters checkpoints/four_painters.pt old/*.pt \\
        --photos ../shared/data/photos/val \\
        --clip ../shared/data/video/cockatoo_1280x720.mp4 --vgg-weights ../shared/weights --out eval.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from infer.engines import painter_engines
from infer.networks import TorchNetwork
from infer.painters import style_image_of
from nets.device import describe_device, pick_device
from nets.files import write_json
from nets.images import load_image, read_clip, to_tensor
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.metrics import warping_error
from nets.vgg import VGGFeatures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("painters", nargs="+", type=Path, help="painter files (.pt)")
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--size", type=int, default=256, help="longest side of the photos")
    parser.add_argument("--style-sizes", type=int, nargs="+", default=[512], help="longest side of the style images")
    parser.add_argument("--style-crop", type=float, default=None,
                        help="crop every style image this much (default: each painter's own training crop)")
    parser.add_argument("--only", nargs="+", default=None, help="evaluate only the painters of these names")
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--clip-width", type=int, default=320)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("evaluate_painters.json"))
    args = parser.parse_args()
    device = pick_device(args.device)
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, args.vgg_weights or None).to(device)
    photos = [load_image(p, args.size) for p in sorted(args.photos.iterdir())
              if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    frames = read_clip(args.clip, args.clip_width)
    floor = warping_error(frames, frames)[0]
    rows = []
    for path in args.painters:
        for engine in painter_engines(TorchNetwork(path, device)):
            if args.only and engine.name not in args.only:
                continue
            record = engine.record
            crop = record.get("style_crop") or 0.0 if args.style_crop is None else args.style_crop
            style = style_image_of(record, Path(path))
            styles = [load_image(style, size, crop).to(device) for size in args.style_sizes]
            criterion = PerceptualLoss(vgg, styles)  # one style index per size
            sums = {"content": 0.0} | {f"{k}_{size}": 0.0 for size in args.style_sizes for k in ("identity", "style")}
            for photo in photos:
                frame = (photo[0].permute(1, 2, 0) * 255).round().byte().numpy()[None]
                styled = to_tensor(engine(frame)[0]).to(device)
                photo = photo.to(device)
                with torch.no_grad():
                    for k, size in enumerate(args.style_sizes):
                        index = torch.tensor([k], device=device)
                        content, style_distance = criterion(styled, photo, index)
                        sums[f"identity_{size}"] += criterion(photo, photo, index).style.item()
                        sums[f"style_{size}"] += style_distance.item()
                sums["content"] += content.item()
            styled_clip = [engine(f[None])[0] for f in frames]
            rows.append({"file": str(path), "painter": engine.name, "style_image": str(style),
                         "style_crop": crop,
                         **{k: v / len(photos) for k, v in sums.items()},
                         "warping_error": warping_error(frames, styled_clip)[0]})
            print(rows[-1], flush=True)
    result = {"device": describe_device(device), "photos": str(args.photos), "count": len(photos),
              "size": args.size, "style_sizes": args.style_sizes, "clip": str(args.clip),
              "clip_size": f"{frames[0].shape[1]}x{frames[0].shape[0]}", "input_warping_error": floor,
              "painters": rows}
    write_json(args.out, result)
    sizes = args.style_sizes
    print(f"\n{len(photos)} photos at {args.size} px; warping error on {args.clip.name} at {result['clip_size']} "
          f"(input {floor:.5f})")
    print("| file | painter | " + " | ".join(f"style at {s} px (photo → painter)" for s in sizes)
          + " | content | warping error |\n|---|---|" + "---|" * len(sizes) + "---|---|")
    for r in rows:
        styles = " | ".join(f"{r[f'identity_{s}']:.3f} → {r[f'style_{s}']:.3f}" for s in sizes)
        print(f"| {Path(r['file']).name} | {r['painter']} | {styles} | {r['content']:.3f} | {r['warping_error']:.5f} |")


if __name__ == "__main__":
    main()
