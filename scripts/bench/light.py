"""Does each painter paint the scene as it is lit? The scene's-light control (``--keep-light``) measured against
the painters as they are, on photos nobody tuned on (JSON + a table).

For every painter of the given files, at each ``--keep-light`` value:
- the correlation, across the photos, of the output's mean lightness (Lab L, 0–255) with the photo's;
- how much darker a night shot (scikit-image's rocket at its launch pad) stays than the day photos: the output's
  gap (mean day L − night L) as a fraction of the photos' own gap (1: kept, 0: night turned to day);
- lightness and colour spread (std of L, of a and b over the pixels) against the painting's own;
- style distance (VGG, as the model cards measure it) and its change against the control off.

    python -m scripts.bench.light checkpoints/four_painters.pt --photos ../shared/data/photos/val --count 24 \\
        --vgg-weights ../shared/weights --out docs/bench/light_2core.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from infer.controls import Adjusted
from infer.engines import painter_engines
from infer.networks import TorchNetwork
from infer.painters import style_image_of
from nets.device import cpu_kind
from nets.files import write_json
from nets.images import load_image, to_tensor
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.vgg import VGGFeatures


def lab_stats(image: np.ndarray) -> dict[str, float]:
    """Mean lightness, and lightness and colour spread (OpenCV's 8-bit Lab: L, a, b in 0–255)."""
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
    return {"L": lab[:, 0].mean(), "L_spread": lab[:, 0].std(), "colour_spread": lab[:, 1:].std(0).mean()}


def night_photo(size: int) -> np.ndarray:
    from skimage import data  # bundled: the dark launch-pad shot the issue was measured on

    image = Image.fromarray(data.rocket())
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("painters", nargs="+", type=Path)
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--keep-light", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--out", type=Path, default=Path("docs/bench/light.json"))
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, args.vgg_weights or None)
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:args.count]
    day = [(load_image(p, args.size)[0].permute(1, 2, 0) * 255).round().byte().numpy() for p in paths]
    night = night_photo(args.size)
    photo_light = np.array([lab_stats(p)["L"] for p in day])
    night_gap = float(photo_light.mean()) - lab_stats(night)["L"]
    rows = []
    for path in args.painters:
        for engine in painter_engines(TorchNetwork(path, torch.device("cpu"))):
            style_path = style_image_of(engine.record, path)
            style = np.asarray(Image.open(style_path).convert("RGB"))
            criterion = PerceptualLoss(vgg, load_image(style_path, 512, engine.record.get("style_crop") or 0.0))
            painting = lab_stats(style)
            base_style = None
            for amount in args.keep_light:
                adjusted = Adjusted(engine, keep_light=amount)
                outputs = [adjusted(p[None])[0] for p in day]
                stats = [lab_stats(o) for o in outputs]
                styles = [criterion(to_tensor(o), to_tensor(p)).style.item() for o, p in zip(outputs, day, strict=True)]
                light = np.array([s["L"] for s in stats])
                style_distance = float(np.mean(styles))
                base_style = style_distance if base_style is None else base_style
                night_light = lab_stats(adjusted(night[None])[0])["L"]
                rows.append({
                    "file": path.name, "painter": engine.name, "keep_light": amount,
                    "light_correlation": round(float(np.corrcoef(photo_light, light)[0, 1]), 3),
                    "mean_light": round(float(light.mean()), 1), "light_range": [round(float(light.min()), 1),
                                                                                round(float(light.max()), 1)],
                    "night_light": round(night_light, 1),
                    "night_gap_kept": round(float(light.mean() - night_light) / night_gap, 2),
                    "light_spread_vs_painting": round(float(np.mean([s["L_spread"] for s in stats]))
                                                      / painting["L_spread"], 2),
                    "colour_spread_vs_painting": round(float(np.mean([s["colour_spread"] for s in stats]))
                                                       / painting["colour_spread"], 2),
                    "style": round(style_distance, 4), "style_change": round(style_distance / base_style - 1, 3)})
                print(json.dumps(rows[-1]), flush=True)
    result = {"machine": cpu_kind(), "photos": str(args.photos), "count": len(day), "size": args.size,
              "photo_light": [round(float(photo_light.min()), 1), round(float(photo_light.max()), 1)],
              "night_photo_light": round(lab_stats(night)["L"], 1), "rows": rows}
    write_json(args.out, result)
    print(f"\n{len(day)} photos at {args.size} px (mean L {result['photo_light'][0]}–{result['photo_light'][1]}); "
          f"night shot L {result['night_photo_light']}")
    print("| painter | keep light | L correlation | mean L (range) | night L (gap kept) | L spread / painting's "
          "| colour spread / painting's | style (change) |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['painter']} | {r['keep_light']:g} | {r['light_correlation']:.2f} | {r['mean_light']} "
              f"({r['light_range'][0]}–{r['light_range'][1]}) | {r['night_light']} ({r['night_gap_kept']:.2f}) "
              f"| {r['light_spread_vs_painting']} "
              f"| {r['colour_spread_vs_painting']} | {r['style']:.3f} ({r['style_change']:+.0%}) |")


if __name__ == "__main__":
    main()
