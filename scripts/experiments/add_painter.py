"""What does a new painter cost? Adding it to a family (its instance-norm rows only) against a full fine-tune.

Arm "add to family": ``--init FAMILY --style NEW`` trains only the new painter's (γ, β) rows, shared weights
frozen, in stages of ``--steps`` (each stage resumes the last; the painter is evaluated after each).
Arm "full fine-tune": a one-painter network starting from the family's first painter, every weight
trained on the new style, given the same wall time as the first arm at each stage (``--time-limit``).
Both arms use the same settings otherwise; the val style distance of the new painter after each stage
is the comparison. Writes JSON and prints a table.

    python -m scripts.experiments.add_painter --family checkpoints/four_painters.pt \\
        --style ../shared/data/styles/signac_riverscape.jpg --photos ../shared/data/photos/train_short256 \\
        --val-photos ../shared/data/photos/val --vgg-weights ../shared/weights --steps 200 500 1000

Decided: a new painter joins a family by its rows only (near a whole fine-tune's style, bit-identical
neighbours, blendable); figures in README.md ("adds painters to a family") and docs/bench/add_painter_cpu_2core.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from nets.files import write_json
from nets.painter import load_painter, save_painter
from train.config import TrainConfig
from train.trainer import train


def starting_painter(family: Path, name: str, path: Path) -> None:
    """The family's first painter as a one-painter file called ``name``: the full fine-tune's start."""
    model, payload = load_painter(family)
    one = model.blended(torch.eye(model.painters)[0])
    record = payload["painters"][0] | {"name": name, "metrics": {}}
    save_painter(path, one, name, [record], payload["config"], 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", type=Path, required=True)
    parser.add_argument("--style", type=Path, required=True)
    parser.add_argument("--photos", required=True)
    parser.add_argument("--val-photos", required=True)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--steps", type=int, nargs="+", default=[200, 500, 1000], help="stage ends, in steps")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--style-size", type=int, default=256)
    parser.add_argument("--style-weight", type=float, default=4.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--work-dir", type=Path, default=Path("runs/add_painter_experiment"))
    parser.add_argument("--out", type=Path, default=Path("add_painter_experiment.json"))
    args = parser.parse_args()
    name = args.style.stem
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    common = dict(style=[str(args.style)], photos=args.photos, val_photos=args.val_photos,
                  vgg_weights=args.vgg_weights, image_size=args.image_size, style_size=args.style_size,
                  style_weight=[args.style_weight], batch_size=args.batch_size, out_dir=str(work),
                  log_dir=str(work / "runs"), log_every=50, sample_every=10**9, checkpoint_every=10**9)
    start = work / "full_start.pt"
    starting_painter(args.family, name, start)
    arms = {"add to family": TrainConfig(**common, init=str(args.family), name="added", overwrite=True),
            "full fine-tune": TrainConfig(**common, init=str(start), name="full", overwrite=True)}

    def stage(cfg: TrainConfig, **changes: object) -> dict:
        card = train(TrainConfig.from_dict(cfg.to_dict() | changes))
        metrics = next(p for p in card["painters"] if p["name"] == name)["metrics"]
        return {"steps": card["steps"], "wall_time_s": card["wall_time_s"], "val_style": metrics["val_style"],
                "val_content": metrics["val_content"], "val_identity_style": metrics["val_identity_style"]}

    results: dict[str, list[dict]] = {arm: [] for arm in arms}
    for k, steps in enumerate(args.steps):
        resume = {"resume": k > 0, "overwrite": k == 0}
        added = stage(arms["add to family"], steps=steps, **resume)
        results["add to family"].append(added)
        spent = results["full fine-tune"][-1]["wall_time_s"] if k else 0.0
        budget = max(added["wall_time_s"] - spent, 1.0)
        results["full fine-tune"].append(stage(arms["full fine-tune"], steps=10**6, time_limit=f"{budget:.0f}s",
                                               **resume))
        print(json.dumps({arm: rows[-1] for arm, rows in results.items()}), flush=True)
    write_json(args.out, {"settings": vars(args), "results": results})
    print(f"new painter {name}; val style distance of the photos themselves: "
          f"{results['add to family'][0]['val_identity_style']:.3f}")
    print("| stage | add to family: steps, wall s, val style | full fine-tune: steps, wall s, val style |")
    print("|---|---|---|")
    for k, (a, b) in enumerate(zip(results["add to family"], results["full fine-tune"], strict=True)):
        print(f"| {k + 1} | {a['steps']}, {a['wall_time_s']:.0f}, {a['val_style']:.3f} | "
              f"{b['steps']}, {b['wall_time_s']:.0f}, {b['val_style']:.3f} |")


if __name__ == "__main__":
    main()
