"""The whole GPU training job in one command, sized for a short GPU lease: bench, then train the family.

1. Versions and the GPU.
2. Speed and loss curve, old trainer against new, on the same settings (one painter, batch ``--batch-size``,
   no temporal term, ``--bench-steps`` steps): the trainer of an earlier commit (``--baseline-tree``: a
   checkout of it; DataLoader workers, eager bf16 channels_last) against this one (photo bank on the GPU,
   compiled step), and this one eager in NCHW and in channels_last.
3. The four painters as one family: 256 px crops, style images at 512 px, temporal term on, per-painter
   style weights, trained until the budget's end is near (``--time-limit``), then evaluated on the
   validation photos.
4. Into ``--out``: the family's painter file and model card, ``curves.json`` (every logged step of every
   run), ``throughput.json`` and the table printed last.

    python -m scripts.gpu.train_job --data .gpu/data --baseline-tree .gpu/baseline --out $OUT --budget 8m30s

``--data`` holds photos/ (training photos), val/ (validation photos), styles/ (the four paintings),
weights/ (VGG16) and clip/ (frames of one clip, for real frame pairs). ``--device cpu`` with tiny sizes
is the dry run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from nets.device import describe_device, pick_device
from nets.files import write_json
from nets.painter import ModelCard
from scripts.train_painters import FAMILY, FAMILY_NAME, painters_table
from train.config import TrainConfig, parse_duration
from train.trainer import train


def versions(device: torch.device) -> dict[str, Any]:
    info = {"python": platform.python_version(), "torch": torch.__version__, "device": describe_device(device)}
    if device.type == "cuda":
        info |= {"cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                 "gpu_memory_gib": round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1)}
    return info


def baseline_run(tree: Path, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    """The earlier commit's trainer, in its own process, on ``cfg``: images/s and its logged loss curve.

    That trainer imports PyAV at start-up but uses it only for clips; where PyAV is missing (GPU machines)
    an empty stand-in module lets it start.
    """
    paths = [str(tree)]
    try:
        import av  # noqa: F401
    except ImportError:
        (work / "avstub" / "av").mkdir(parents=True, exist_ok=True)
        (work / "avstub" / "av" / "__init__.py").write_text("")
        paths.append(str(work / "avstub"))
    code = ("import json, sys; from train.config import TrainConfig; from train.trainer import train; "
            "card = train(TrainConfig(**json.loads(sys.argv[1]))); print(json.dumps(card['wall_time_s']))")
    env = os.environ | {"PYTHONPATH": os.pathsep.join(paths)}
    subprocess.run([sys.executable, "-c", code, json.dumps(cfg)], cwd=tree, env=env, check=True)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(Path(cfg["log_dir"]) / cfg["name"]))
    events.Reload()
    curve: dict[int, dict[str, float]] = {}
    for tag in events.Tags()["scalars"]:
        key = tag.split("/")[-1]
        for event in events.Scalars(tag):
            curve.setdefault(event.step, {"step": event.step})[key] = event.value
    points = [curve[s] for s in sorted(curve)]
    return {"images_per_s": statistics.median(p["images_per_s"] for p in points[1:]), "curve": points}


def new_run(cfg: TrainConfig) -> dict[str, Any]:
    card = train(cfg)
    curve = json.loads((Path(cfg.log_dir) / cfg.painter_name / "curve.json").read_text())
    return {"images_per_s": card["images_per_s"], "first_step_s": card["first_step_s"], "curve": curve,
            "card": card}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--baseline-tree", type=Path, default=None, help="checkout of the trainer to compare with")
    parser.add_argument("--budget", default="8m30s", help="wall time for the whole job")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--style-size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--temporal-pairs", type=int, default=8)
    parser.add_argument("--temporal-weight", type=float, default=30.0)
    parser.add_argument("--bench-steps", type=int, default=150)
    parser.add_argument("--layout-steps", type=int, default=40)
    parser.add_argument("--max-steps", type=int, default=100_000, help="the family stops here or at the budget")
    parser.add_argument("--log-every", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    budget = parse_duration(args.budget)
    device = pick_device(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    info = versions(device)
    print(json.dumps(info), flush=True)
    work = Path(tempfile.mkdtemp(prefix="gpu_job_"))
    data = args.data.resolve()  # the baseline runs in its own folder
    common = dict(photos=str(data / "photos"), vgg_weights=str(data / "weights"), image_size=args.image_size,
                  style_size=args.style_size, batch_size=args.batch_size, device=args.device, workers=16,
                  log_every=args.log_every, sample_every=10**9, checkpoint_every=10**9, overwrite=True,
                  out_dir=str(work / "checkpoints"), log_dir=str(work / "runs"))
    vangogh = str(data / "styles" / "vangogh_starry_night.jpg")
    results: dict[str, Any] = {"versions": info}
    curves: dict[str, Any] = {}

    def timed(key: str, run: Any) -> None:
        """One bench step; a failure is reported and the job goes on to the family."""
        begin = time.perf_counter()
        try:
            result = run()
        except Exception as exc:  # noqa: BLE001 - the family run matters more than any one measurement
            print(f"{key}: failed: {exc.__class__.__name__}: {exc}", flush=True)
            results[key] = {"error": f"{exc.__class__.__name__}: {exc}"}
            return
        curves[key] = result.pop("curve")
        result.pop("card", None)
        results[key] = result | {"wall_s": round(time.perf_counter() - begin, 1)}
        print(f"{key}: {results[key]}", flush=True)

    bench = dict(common, style_weight=5.0, steps=args.bench_steps, temporal_weight=0.0)
    if args.baseline_tree:
        old = {k: v for k, v in bench.items() if k not in ("style_weight",)} | {
            "style": vangogh, "style_weight": 5.0, "name": "baseline", "amp": True, "workers": 12}
        timed("old trainer (DataLoader, eager bf16 channels_last)", lambda: baseline_run(args.baseline_tree, old, work))
    timed("new trainer (GPU photo bank, compiled bf16 NCHW)",
          lambda: new_run(TrainConfig(**bench, style=[vangogh], name="new_compiled", compile="on")))
    for layout in (False, True):
        timed(f"new trainer eager bf16 {'channels_last' if layout else 'NCHW'}",
              lambda layout=layout: new_run(TrainConfig(**(bench | {"steps": args.layout_steps}), style=[vangogh],
                                                        name=f"eager_{layout}", compile="off", channels_last=layout)))

    reserve = 60.0  # evaluation on the validation photos and writing the files
    remaining = budget - (time.perf_counter() - started) - reserve
    family = TrainConfig(
        **(common | {"out_dir": str(args.out)}), style=[str(data / "styles" / f"{n}.jpg") for n in FAMILY],
        style_weight=list(FAMILY.values()), name=FAMILY_NAME, steps=args.max_steps, val_photos=str(data / "val"),
        temporal_weight=args.temporal_weight, temporal_pairs=args.temporal_pairs, clips=str(data / "clip"),
        compile="auto", time_limit=f"{max(remaining, 30):.0f}s")
    timed("family of four (compiled, temporal pairs)", lambda: new_run(family))
    for path in (work / "runs" / FAMILY_NAME).glob("events.out.tfevents.*"):
        shutil.copy(path, args.out / "family.tfevents")
    results["job_wall_s"] = round(time.perf_counter() - started, 1)
    write_json(args.out / "curves.json", curves)
    write_json(args.out / "throughput.json", results)

    print(f"\n{info['device']}, torch {info['torch']}; job {results['job_wall_s']} s of {budget:.0f} s")
    print("| run | images/s | first step s | wall s |\n|---|---|---|---|")
    for key, value in results.items():
        if isinstance(value, dict) and "wall_s" in value:
            print(f"| {key} | {value['images_per_s']:.0f} | {value.get('first_step_s', float('nan')):.1f} | "
                  f"{value['wall_s']} |")
    card_path = args.out / f"{FAMILY_NAME}.json"
    if card_path.is_file():
        card = ModelCard.read(card_path).to_dict()
        print(f"family: {card['steps']} steps × {args.batch_size} = {card['samples_seen']} samples in "
              f"{card['wall_time_s']} s")
        print(painters_table(card))


if __name__ == "__main__":
    main()
