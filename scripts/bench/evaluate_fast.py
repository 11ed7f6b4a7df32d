"""The fast family against the full one it was distilled from, painter by painter, on data neither saw.

For each painter (and an even blend): PSNR of the fast family's pictures against the full family's on the
validation photos, beside the PSNR of the full family against itself on the photo moved by one pixel (its
strokes sit on a 4 px grid, so a move the eye cannot see changes the picture: a scale for the first); the
style distance of both to the painting (VGG16, Johnson et al.'s layers, relative to its target; the fast
one's change in %); the warping error of both, unstabilised, on clips whose motion is
known exactly (pan, zoom, turn, a moving object: ``scripts.helpers.known_motion``) and on the real cockatoo clip
(DIS flow on the input). Writes JSON, prints a table and draws a contact sheet: photo, full, fast.

    python -m scripts.bench.evaluate_fast checkpoints/four_painters.pt checkpoints/four_painters_fast.pt \\
        --shared ../shared --vgg-weights ../shared/weights --out docs/bench/fast_family_quality.json \\
        --sheet docs/fast_family.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from infer.networks import TorchNetwork
from infer.painters import style_image_of
from infer.sheet import caption, save_grid
from nets.device import describe_device
from nets.files import write_json
from nets.images import load_image, to_tensor
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.metrics import warping_error
from nets.painter import ModelCard
from nets.vgg import VGGFeatures
from scripts.bench.steady import clips, motions_of


def psnr(got: np.ndarray, want: np.ndarray) -> float:
    mse = np.mean((got.astype(np.float64) - want.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def moved_psnr(network: TorchNetwork, photo: np.ndarray, weights: np.ndarray, painted: np.ndarray) -> float:
    """PSNR of the picture of ``photo`` moved one pixel left against ``painted`` (the picture of ``photo``),
    on the part both show, away from the right border (where the moved photo's reflection padding differs)."""
    moved = network(np.ascontiguousarray(photo[:, 1:])[None], weights[None])[0]
    width = painted.shape[1] - 1 - 16
    return psnr(moved[:, :width], painted[:, 1:1 + width])


def thumbnail(picture: np.ndarray, side: int = 256) -> Image.Image:
    image = Image.fromarray(picture)
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("full", type=Path)
    parser.add_argument("fast", type=Path)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--photos", type=int, default=20, help="validation photos used")
    parser.add_argument("--size", type=int, default=384, help="longest side of the photos")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--out", type=Path, default=Path("fast_family_quality.json"))
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--painters", nargs="+", default=None, metavar="NAME",
                        help="only these painters ('even blend' too; default: every painter and the even blend)")
    parser.add_argument("--card", action="store_true", help="write each painter's numbers into the fast family's "
                                                            "model card (<fast>.json)")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    cpu = torch.device("cpu")
    full, fast = TorchNetwork(args.full, cpu), TorchNetwork(args.fast, cpu)
    names = [p["name"] for p in full.painters]
    if names != [p["name"] for p in fast.painters]:
        raise SystemExit(f"{args.fast} does not hold the painters of {args.full}")
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, args.vgg_weights or None)
    paths = sorted((args.shared / "data" / "photos" / "val").glob("*.jpg"))[: args.photos]
    photos = [(load_image(p, args.size)[0].permute(1, 2, 0) * 255).round().byte().numpy() for p in paths]
    made = clips(args.shared, args.frames, 320, 192)
    made = [(clip, exact) for clip, exact in made if exact or clip.name == "cockatoo"]
    floors = {clip.name: warping_error(clip.frames, clip.frames, motions_of(clip, exact))[0] for clip, exact in made}
    eye = np.eye(len(names), dtype=np.float32)
    cases = [(name, eye[k]) for k, name in enumerate(names)] + [("even blend", np.full(len(names), 1 / len(names),
                                                                                          np.float32))]
    if args.painters:
        if unknown := set(args.painters) - {name for name, _ in cases}:
            raise SystemExit(f"{args.full} has no painter {', '.join(sorted(unknown))}")
        cases = [(name, weights) for name, weights in cases if name in args.painters]
    rows, sheet = [], [[caption("photo; full, fast")] + [caption(n[:24]) for n, _ in cases]]
    for name, weights in cases:
        record = full.painters[int(np.argmax(weights))]
        style = load_image(style_image_of(record, args.full), 512, record.get("style_crop") or 0.0)
        criterion = PerceptualLoss(vgg, [style])

        def paint(network: TorchNetwork, frames: list[np.ndarray], w: np.ndarray = weights) -> list[np.ndarray]:
            return [network(f[None], w[None])[0] for f in frames]

        painted = {label: paint(net, photos) for label, net in (("full", full), ("fast", fast))}
        row: dict = {"painter": name, "psnr_db": float(np.mean([psnr(a, b) for a, b in zip(
            painted["fast"], painted["full"], strict=True)])), "psnr_full_moved_1px_db": float(np.mean(
                [moved_psnr(full, p, weights, a) for p, a in zip(photos, painted["full"], strict=True)]))}
        for label, out in painted.items():
            row[f"style_{label}"] = float(np.mean([criterion(to_tensor(o), to_tensor(p)).style.item()
                                                   for o, p in zip(out, photos, strict=True)]))
        row["style_change"] = row["style_fast"] / row["style_full"] - 1
        for clip, exact in made:
            for label, net in (("full", full), ("fast", fast)):
                error = warping_error(clip.frames, paint(net, clip.frames), motions_of(clip, exact))[0]
                row[f"warp_{clip.name}_{label}"] = error / floors[clip.name]
        row["warp_change"] = float(np.mean([row[f"warp_{c.name}_fast"] / row[f"warp_{c.name}_full"] - 1
                                            for c, _ in made]))
        rows.append(row)
        print(f"{name:34s} PSNR {row['psnr_db']:5.2f} dB (full moved 1 px: {row['psnr_full_moved_1px_db']:5.2f})  "
              f"style {row['style_full']:.3f} -> {row['style_fast']:.3f} ({100 * row['style_change']:+.1f}%)  "
              f"warping {100 * row['warp_change']:+.1f}%", flush=True)
        if len(sheet) == 1:  # per photo, a row of the full family's pictures and a row of the fast one's
            sheet += [row for p in photos[:3] for row in ([thumbnail(p)], [caption("fast")])]
        for k in range(min(3, len(photos))):
            sheet[1 + 2 * k].append(thumbnail(painted["full"][k]))
            sheet[2 + 2 * k].append(thumbnail(painted["fast"][k]))
    write_json(args.out, {"device": describe_device(cpu), "full": str(args.full), "fast": str(args.fast),
                          "photos": len(photos), "size": args.size, "clips": {c.name: e for c, e in made},
                          "warping": "each clip's error over its input's own (1.00 = as steady as the input)",
                          "rows": rows})
    print("\n| painter | PSNR vs full (dB) | full vs itself, photo moved 1 px (dB) | style full | style fast | change "
          "| warping change (mean of clips) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['painter']} | {r['psnr_db']:.2f} | {r['psnr_full_moved_1px_db']:.2f} | {r['style_full']:.3f} | "
              f"{r['style_fast']:.3f} | {100 * r['style_change']:+.1f}% | {100 * r['warp_change']:+.1f}% |")
    if args.sheet:
        save_grid(sheet, args.sheet)
    if args.card:
        card = ModelCard.read(args.fast.with_suffix(".json"))
        measured = {row["painter"]: row for row in rows}  # the blend has no record
        for record in card.painters:
            if (row := measured.get(record["name"])) is None:
                continue
            size = f"style_{args.size}px"  # not the full family's val_style, which is at 256 px
            record["metrics"] = {"psnr_vs_full_db": row["psnr_db"], size: row["style_fast"],
                                 f"{size}_full": row["style_full"], "warping_change_vs_full": row["warp_change"]}
        card.write(args.fast.with_suffix(".json"))


if __name__ == "__main__":
    main()
