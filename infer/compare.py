"""``compare``: feed-forward painters against the reference method, on the same photos or clip.

Every method is measured the same way: style and content distance with VGG16 on Johnson et al.'s layers
(the numbers of the model cards), the style image at the painter's training size, each output against
its own input at the size it was made; for clips also the warping error (flicker) and the input's own
warping error as the floor; and seconds per frame. The report folder holds metrics.json, report.md
(its numbers are those of metrics.json), a contact sheet, every output image and, for clips, a
per-frame flicker plot. It is built in a hidden folder beside the target and renamed when complete;
the reference results are kept there as they finish, so an interrupted compare resumes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from infer.engines import Engine, PainterEngine, painter_engines
from infer.painters import find_painter, style_image_of
from infer.plan import open_network
from infer.reference import ReferenceClipEngine, ReferenceConfig, ReferenceMethodError, ReferenceStylizer, cached_png
from infer.sheet import caption, image_grid, line_plot
from infer.steady import DEFAULT_STRENGTH, check_strength, stabilize_frames
from nets.device import describe_device, pick_device
from nets.files import replace_folder
from nets.images import IMAGE_SUFFIXES, fit_longest_side, is_photo, open_rgb, read_clip, to_tensor
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.metrics import warping_error
from nets.options import option
from nets.vgg import VGGFeatures

log = logging.getLogger(__name__)

SHEET_ROWS = 5
SHEET_HEIGHT = 192
DIGITS = 4  # significant digits of every number in metrics.json and report.md
MIN_COMPARE_SIDE = 16  # px: VGG19's relu5_1, the deepest layer measured, is 1/16 of the image


@dataclass
class CompareConfig:
    """Every setting of a compare run; saved in its metrics.json."""

    inputs: list[str] = option(None, "photos and folders of photos, or one clip", flags=("inputs",))
    painters: list[str] = option(None, "painter names in checkpoints/ (a family compares each of its painters) "
                                       "or .pt/.onnx paths", flags=("-m", "--painter"))
    output: str = option(None, "report folder to create", flags=("-o", "--output"))
    size: int = option(256, "longest side of photos and frames, for every method")
    max_frames: int = option(0, "clips: only the first N frames (0: all)")
    reference_iterations: int = option(300, "reference L-BFGS iterations per photo and for a clip's first frame")
    reference_frame_iterations: int = option(100, "reference iterations for a clip's later frames")
    style: str = option("", "style image (default: each painter's training style image)")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    vgg_weights: str = option("", "folder or file with VGG16 and VGG19 weights")
    stabilize: float = option(DEFAULT_STRENGTH, "clips: each painter also steadied at this strength (0: not)")
    overwrite: bool = option(False, "replace an existing report folder (once the new one is complete)")

    def check(self) -> None:
        if self.size < 8 or self.max_frames < 0 or self.reference_iterations < 1 or self.reference_frame_iterations < 0:
            raise ReferenceMethodError("--size must be at least 8 and the frame and iteration counts positive")
        check_strength(self.stabilize)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _round(value: float) -> float:
    return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else value


def load_inputs(cfg: CompareConfig) -> tuple[str, dict[str, np.ndarray]]:
    """("photos" or "clip", name -> H×W×3 uint8), every image scaled down to ``size`` on its longest side.

    Inputs are photo files and folders of photos, or a single clip (any file that is not a photo).
    """
    kind, images = _read_inputs(cfg)
    for name, image in images.items():
        if min(image.shape[:2]) < MIN_COMPARE_SIDE:
            raise ReferenceMethodError(f"--size {cfg.size} makes {name} {image.shape[1]}×{image.shape[0]} px; both "
                                       f"sides must be at least {MIN_COMPARE_SIDE} px (VGG halves them four times)")
    return kind, images


def _read_inputs(cfg: CompareConfig) -> tuple[str, dict[str, np.ndarray]]:
    paths = [Path(p) for p in cfg.inputs]
    missing = [str(p) for p in paths if not p.exists()]
    if missing or not paths:
        raise ReferenceMethodError(f"no such file or folder: {', '.join(missing) or '(no input given)'}")
    if len(paths) == 1 and paths[0].is_file() and not is_photo(paths[0]):
        frames = read_clip(paths[0])[: cfg.max_frames or None]
        if len(frames) < 2:
            raise ReferenceMethodError(f"{paths[0]} has fewer than 2 frames")
        return "clip", {f"frame{i:05d}": np.asarray(fit_longest_side(Image.fromarray(f), cfg.size))
                        for i, f in enumerate(frames)}
    photos = [f for p in paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p])
              if f.suffix.lower() in IMAGE_SUFFIXES]
    if not photos:
        raise ReferenceMethodError("give photos (files or folders of photos) or one clip")
    return "photos", {p.stem: np.asarray(fit_longest_side(open_rgb(p), cfg.size)) for p in photos}


def style_of(engine: PainterEngine, painter_file: Path, cfg: CompareConfig) -> tuple[Path, int]:
    """The painter's style image (or ``--style``) and the size it was trained at."""
    style = Path(cfg.style) if cfg.style else style_image_of(engine.record, painter_file)
    if style is None or not style.is_file():
        recorded = engine.record.get("style_image") or "not recorded"
        raise ReferenceMethodError(f"cannot find the style image of {engine.name} ({cfg.style or recorded}); "
                                   f"give it with --style")
    return style, int(engine.record.get("style_size") or 512)


def _feed_forward(engine: Engine, images: dict[str, np.ndarray], folder: Path, steady: float = 0.0
                  ) -> tuple[dict[str, np.ndarray], float]:
    """Outputs of a painter (the frames of a clip steadied at ``steady``, if not 0) and its seconds per frame
    (after one warm-up call)."""
    frames = list(images.values())
    engine(frames[0][None])
    tick = time.perf_counter()
    painted = stabilize_frames(engine, frames, steady)  # 0: each frame painted alone
    seconds = (time.perf_counter() - tick) / len(frames)
    outputs = dict(zip(images, painted, strict=True))
    for name, image in outputs.items():
        _save(folder / f"{name}.png", image)
    return outputs, seconds


def _reference(reference: ReferenceStylizer, kind: str, images: dict[str, np.ndarray], folder: Path
               ) -> tuple[dict[str, np.ndarray], float]:
    """Reference outputs and seconds per frame, resuming from the PNGs already in ``folder``."""
    if kind == "photos":
        results = {name: cached_png(folder / f"{name}.png", lambda image=image: reference.image(image)[0])
                   for name, image in images.items()}
        return {n: r[0] for n, r in results.items()}, float(np.mean([r[1] for r in results.values()]))
    engine = ReferenceClipEngine(reference, folder)
    return {name: engine(frame[None])[0] for name, frame in images.items()}, engine.seconds / len(images)


def _save(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


@torch.no_grad()
def _distances(criterion: PerceptualLoss, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray],
               device: torch.device) -> dict[str, float]:
    """Mean style and content distance of ``outputs`` to their inputs, as the report's columns."""
    content, style = [], []
    for name, image in inputs.items():
        distances = criterion(to_tensor(outputs[name]).to(device), to_tensor(image).to(device))
        content.append(distances.content.item())
        style.append(distances.style.item())
    return {"style_distance": _round(float(np.mean(style))), "content_distance": _round(float(np.mean(content)))}


def _thumb(image: np.ndarray | Image.Image) -> Image.Image:
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    return img.resize((max(1, round(img.width * SHEET_HEIGHT / img.height)), SHEET_HEIGHT), Image.Resampling.LANCZOS)


def write_report(folder: Path, metrics: dict) -> None:
    """report.md: the table of metrics.json, with the measuring conditions stated."""
    clip = metrics["kind"] == "clip"
    lines = [
        "# Feed-forward painters vs the reference method",
        "",
        f"Inputs: {', '.join(metrics['config']['inputs'])} ({metrics['count']} {'frames' if clip else 'photos'}, "
        f"longest side {metrics['config']['size']} px). Device: {metrics['device']}.",
        "",
        f"Distances: {metrics['measure']}.",
        "",
        "| method | painter | style distance | content distance |" + (" warping error |" if clip else "")
        + " seconds per frame |",
        "|---|---|---|---|" + ("---|" if clip else "") + "---|",
    ]
    for row in metrics["methods"]:
        cells = [row["method"], row["painter"], f"{row['style_distance']}", f"{row['content_distance']}"]
        cells += [f"{row['warping_error']}"] if clip else []
        lines.append("| " + " | ".join(cells + [f"{row['seconds_per_frame']}"]) + " |")
    if clip:
        lines.append(f"| input clip (floor) | | | | {metrics['input_warping_error']} | |")
    lines += ["", f"Reference: {metrics['reference']['description']}; settings in metrics.json.", "",
              "![contact sheet](contact_sheet.png)"]
    if clip:
        lines += ["", "![warping error per frame](flicker.png)"]
    (folder / "report.md").write_text("\n".join(lines) + "\n")


def compare(cfg: CompareConfig) -> dict:
    """Run every method, write the report folder, return its metrics."""
    cfg.check()
    output = Path(cfg.output)
    if output.exists() and not cfg.overwrite:
        raise ReferenceMethodError(f"{output} exists; pass --overwrite to replace it")
    if output.is_file():
        raise ReferenceMethodError(f"{output} is a file; a report is a folder: give another name")
    if not output.parent.is_dir():
        raise ReferenceMethodError(f"folder does not exist: {output.parent}")
    if not os.access(output.parent, os.W_OK):
        raise ReferenceMethodError(f"cannot write to the folder {output.parent}")
    if not cfg.painters:
        raise ReferenceMethodError("name at least one painter with -m")
    kind, images = load_inputs(cfg)
    engines: list[tuple[PainterEngine, Path, int]] = []
    for spec in cfg.painters:  # a family compares each of its painters; every style image is found first
        ref = find_painter(spec)
        for engine in painter_engines(open_network(ref.files, device=cfg.device), ref.painter):
            engines.append((engine, *style_of(engine, ref.files.first or Path(spec), cfg)))
    work = output.with_name(f".{output.name}.part")
    settings = json.dumps(cfg.to_dict() | {"overwrite": None}, indent=2)
    if (work / "config.json").exists() and (work / "config.json").read_text() != settings:
        log.info("%s held an unfinished compare with other settings; starting over", work)
        shutil.rmtree(work)
    work.mkdir(exist_ok=True)
    (work / "config.json").write_text(settings)
    device = pick_device(cfg.device)
    vgg16 = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, cfg.vgg_weights or None).to(device)
    methods, sheet_columns, headers, series = [], [], [], {}
    floor_mean, floor = warping_error(list(images.values()), list(images.values())) if kind == "clip" else (0.0, [])
    if kind == "clip":
        series["input (floor)"] = floor
    reference_info: dict = {}
    for engine, style_path, style_size in engines:
        style_image = open_rgb(style_path)
        criterion = PerceptualLoss(vgg16, to_tensor(fit_longest_side(style_image, style_size)).to(device))
        ref_cfg = ReferenceConfig(style=str(style_path), iterations=cfg.reference_iterations,
                                  frame_iterations=cfg.reference_frame_iterations, device=cfg.device,
                                  vgg_weights=cfg.vgg_weights)
        reference = ReferenceStylizer(ref_cfg)
        reference_info = {"description": reference.description, "config": ref_cfg.to_dict()}
        runs = {"feed-forward": (_feed_forward(engine, images, work / "images" / f"{engine.name}"), engine.description)}
        if kind == "clip" and cfg.stabilize:
            runs[f"feed-forward steady {cfg.stabilize:g}"] = (_feed_forward(
                engine, images, work / "images" / f"{engine.name}-steady", cfg.stabilize), engine.description)
        runs["reference"] = (_reference(reference, kind, images, work / "images" / f"reference-{engine.name}"),
                             reference.description)
        sheet_columns.append(_thumb(style_image))
        headers += ["style", *(f"{engine.name} ({method})" if method != "reference" else method for method in runs)]
        for method, ((outputs, seconds), description) in runs.items():
            row = {"method": method, "painter": engine.name, "style": str(style_path), "runs_on": description,
                   **_distances(criterion, images, outputs, device), "seconds_per_frame": _round(seconds)}
            if kind == "clip":
                mean, per_pair = warping_error(list(images.values()), [outputs[n] for n in images])
                row["warping_error"] = _round(mean)
                row["warping_error_per_frame"] = per_pair
                series[f"{method} {engine.name}"] = per_pair
            methods.append(row)
            sheet_columns.append(outputs)

    names = list(images)
    shown = names if kind == "photos" else [names[0], names[len(names) // 2], names[-1]]
    rows = [[_thumb(images[n])] + [_thumb(c if isinstance(c, Image.Image) else c[n]) for c in sheet_columns]
            for n in shown[:SHEET_ROWS]]
    header = [caption("frame" if kind == "clip" else "photo")] + [caption(h) for h in headers]
    image_grid([header, *rows]).save(work / "contact_sheet.png")
    if kind == "clip":
        line_plot(series, "warping error per frame (lower = less flicker)", "frame", "warping error").save(
            work / "flicker.png")
    metrics = {
        "kind": kind,
        "count": len(images),
        "device": describe_device(device),
        "measure": (f"VGG16 ({vgg16.source}), style layers {', '.join(JOHNSON_STYLE_LAYERS)}, content layer "
                    f"{', '.join(JOHNSON_CONTENT_LAYERS)}, each relative to its target; every output against its "
                    f"own input at the input's size; the style image at the painter's training size (longest side)"),
        "methods": methods,
        "reference": reference_info,
        "config": cfg.to_dict(),
    }
    if kind == "clip":
        metrics["input_warping_error"] = _round(floor_mean)
        metrics["input_warping_error_per_frame"] = floor
    (work / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_report(work, metrics)
    (work / "config.json").unlink()  # the resume guard; metrics.json holds the settings
    replace_folder(work, output)
    return metrics
