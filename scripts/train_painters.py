"""Train, export and evaluate the shipped painters, all four with one command.

For each painter: train (temporal term on), export to ONNX (fp32, and fp16 where it verifies), and add
to its model card the warping error on an evaluation clip (with the clip's own as the floor) beside the
style/content distances the trainer measured on the validation photos. A painter whose model card
already holds exactly these settings is not trained again, so an interrupted run goes on where it was.

    # GPU, full scale: 160k samples at 256 px each (Johnson et al.), into checkpoints/
    python scripts/train_painters.py --preset gpu --styles ../shared/data/styles \\
        --photos ../shared/data/photos/train --val-photos ../shared/data/photos/val \\
        --clips ../shared/data/video/big_buck_bunny_320x176.mp4 --vgg-weights ../shared/weights \\
        --eval-clip ../shared/data/video/cockatoo_1280x720.mp4
    # CPU, reduced scale: 128 px, each fine-tuned from the Van Gogh painter (trained first)
    python scripts/train_painters.py --preset cpu ...

ONNX: fp32 always; fp16 too on a GPU, where it is verified on the CUDA provider and is what runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infer.__main__ import verification_photos  # noqa: E402
from infer.engines import TorchEngine  # noqa: E402
from infer.export import ExportError, export_painter  # noqa: E402
from infer.metrics import warping_error  # noqa: E402
from nets.device import pick_device  # noqa: E402
from nets.files import atomic_path  # noqa: E402
from nets.images import read_clip  # noqa: E402
from train.config import TrainConfig  # noqa: E402
from train.trainer import train_or_reuse  # noqa: E402

#: Per painter: the style image in --styles and the loss weights tuned for it.
PAINTERS = {
    "vangogh_starry_night": {"style": "vangogh_starry_night.jpg", "style_weight": 5.0},
    "munch_the_scream": {"style": "munch_the_scream.jpg", "style_weight": 5.0},
    "hokusai_great_wave": {"style": "hokusai_great_wave.jpg", "style_weight": 5.0},
    "seurat_sunday_on_la_grande_jatte": {"style": "seurat_sunday_on_la_grande_jatte.jpg", "style_weight": 5.0},
}
#: gpu: 10k steps × 16 = 160k samples at 256 px. cpu: what two cores manage in minutes per painter.
PRESETS = {
    "gpu": {"image_size": 256, "style_size": 512, "batch_size": 16, "temporal_pairs": 8, "steps": 10_000,
            "workers": 8},
    "cpu": {"image_size": 128, "style_size": 256, "batch_size": 4, "steps": 500, "workers": 1,
            "init": "checkpoints/vangogh_starry_night.pt"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=PRESETS, default="gpu")
    parser.add_argument("--painters", nargs="+", choices=PAINTERS, default=list(PAINTERS))
    parser.add_argument("--styles", type=Path, required=True, help="folder holding the style images")
    parser.add_argument("--photos", required=True)
    parser.add_argument("--val-photos", required=True)
    parser.add_argument("--clips", default="", help="real clips for training pairs (optional)")
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--eval-clip", type=Path, required=True)
    parser.add_argument("--eval-width", type=int, default=320, help="the evaluation clip is scaled to this width")
    parser.add_argument("--temporal-weight", type=float, default=30.0)
    parser.add_argument("--steps", type=int, default=None, help="override the preset's steps")
    parser.add_argument("--out-dir", type=Path, default=Path("checkpoints"))
    parser.add_argument("--log-dir", default="runs")
    args = parser.parse_args()

    preset = PRESETS[args.preset] | ({"steps": args.steps} if args.steps else {})
    frames = read_clip(args.eval_clip, args.eval_width)
    floor = warping_error(frames, frames)[0]
    device = pick_device("auto")
    summary = []
    for name in args.painters:
        painter = PAINTERS[name]
        cfg = TrainConfig(
            style=str(args.styles / painter["style"]), photos=args.photos, val_photos=args.val_photos,
            clips=args.clips, name=name, vgg_weights=args.vgg_weights, out_dir=str(args.out_dir),
            log_dir=args.log_dir, style_weight=painter["style_weight"], temporal_weight=args.temporal_weight,
            overwrite=True, **preset,
        )
        card = train_or_reuse(cfg)
        pt = args.out_dir / f"{name}.pt"
        exports = {}
        for fp16 in (False, True) if device.type == "cuda" else (False,):  # fp16 pays off only on GPUs
            onnx = pt.with_suffix(".fp16.onnx" if fp16 else ".onnx")
            try:
                report = export_painter(pt, onnx, verification_photos(), fp16=fp16)
                exports[report.precision] = {"file": onnx.name, "max_diff": report.max_diff,
                                             "providers": report.providers}
            except ExportError as exc:  # fp16 may not verify on every provider: ship fp32 only then
                exports["fp16" if fp16 else "fp32"] = {"rejected": str(exc)}
        engine = TorchEngine(pt, device, half=False)
        styled = [engine(frame[None])[0] for frame in frames]
        card["eval_clip"] = {"clip": str(args.eval_clip), "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
                             "frames": len(frames), "warping_error": warping_error(frames, styled)[0],
                             "input_warping_error": floor}
        card["exports"] = exports
        card["preset"] = args.preset
        with atomic_path(pt.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(card, indent=2) + "\n")
        summary.append((name, card))

    print("| painter | device | steps × batch | train time | val style (photo → painter) | val content | "
          "warping error (input floor) | exports |")
    print("|---|---|---|---|---|---|---|---|")
    for name, card in summary:
        m, clip, cfg = card["metrics"], card["eval_clip"], card["config"]
        ok = ", ".join(k for k, v in card["exports"].items() if "rejected" not in v)
        print(f"| {name} | {card['device']} | {cfg['steps']} × {cfg['batch_size']} | {card['wall_time_s']:.0f} s | "
              f"{m['val_identity_style']:.3f} → {m['val_style']:.3f} | {m['val_content']:.3f} | "
              f"{clip['warping_error']:.5f} ({clip['input_warping_error']:.5f}) | {ok} |")


if __name__ == "__main__":
    main()
