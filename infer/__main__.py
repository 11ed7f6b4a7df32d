"""``python -m infer``: stylise photos and clips with a trained painter, export painters to ONNX, prebuild
them for this CPU, run the reference optimisation method, and compare the two."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from infer import prebuilt
from infer.compare import CompareConfig, compare
from infer.controls import (
    STROKE_REFERENCE_SIDE,
    check_keyframes_fit,
    check_stroke_size,
    parse_keyframes,
    picture_stroke_size,
)
from infer.engines import ENGINES, PRECISIONS
from infer.painters import SEARCH_PATH_VARIABLE, find_painter, search_first
from infer.plan import default_precision, prebuild_tip
from infer.ray_render import Painting, render_with_ray
from infer.reference import (
    ReferenceClipEngine,
    ReferenceConfig,
    ReferenceStylizer,
    frames_dir_for,
    snapshot_labels,
)
from infer.steady import DEFAULT_STRENGTH
from infer.stylizer import Stylizer
from infer.tiles import Tiling, parse_size
from infer.video import (
    ENCODERS,
    PIXEL_FORMATS,
    WRITABLE_CLIP_SUFFIXES,
    X264_PRESETS,
    RenderOptions,
    choose_encoder,
    frame_size,
    probe,
    rendered_seconds,
    stylize_video,
)
from nets.errors import UserError
from nets.files import atomic_path, stop_requests_interrupt, write_json
from nets.images import (
    IMAGE_SUFFIXES,
    ImageReadError,
    fit_longest_side,
    is_photo,
    open_rgb,
    writable_image_suffixes,
)
from nets.options import OneLineErrorParser, add_dataclass_options, from_args
from nets.painter import painter_names, read_painter
from nets.progress import progress_bar, waiting
from nets.transformer import MIN_SIDE

PROG = "python -m infer"
log = logging.getLogger("infer")


class UsageError(UserError):
    """A command line that would lose data or cannot work, refused before any work is done."""



def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--painter", nargs="+", default=None,
                        help="painter or family name in checkpoints/, or a .pt/.onnx path; several, or a family: "
                             "a labelled mosaic of them")
    parser.add_argument("--blend", default=None, help="painters of one family mixed in one pass, e.g. "
                                                      "vangogh_starry_night=0.6,munch_the_scream=0.4")
    parser.add_argument("--strength", type=float, default=1.0, help="0 gives back the photo, 1 the painting")
    parser.add_argument("--preserve-colors", action="store_true",
                        help="the painting's brightness in the photo's colours")
    parser.add_argument("--keep-light", type=float, default=0.0,
                        help="the scene's light under the painting's colours and strokes: 0 the painting's own, 1 "
                             "the photo's (a night shot stays dark)")
    parser.add_argument("--stroke-size", type=float, default=None,
                        help="brush strokes this many times their trained size: the painter runs on the frame scaled "
                             "by 1/S and its painting is scaled back (2: bigger strokes and 4× quicker; 0.5: finer). "
                             f"Default: a photo's follow its size (×1 up to {STROKE_REFERENCE_SIDE} px, ×2 at "
                             f"{2 * STROKE_REFERENCE_SIDE} …), so a big photo looks like its preview; a clip's ×1")
    parser.add_argument("--tile", type=int, default=None,
                        help="paint in tiles of this many px a side, sharing the whole frame's statistics "
                             "(default: only frames too big for --max-memory)")
    parser.add_argument("--max-memory", default=None,
                        help="memory a frame may take, e.g. 3G (default: half the free memory of the device)")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="onnx (ONNX Runtime), torch (PyTorch eager), compiled (PyTorch compiled for each frame "
                             "size; CUDA graphs on a GPU) or prebuilt (compiled once for this CPU and any size: "
                             "python -m infer prebuild); auto: prebuilt where it has been, else compiled for clips "
                             "long enough to repay compiling, else torch where it runs in bf16 or fp16, else onnx "
                             "when the painter has an export")
    parser.add_argument("--explain", action="store_true",
                        help="say which engine, precision and file paint, and why (before painting)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto: fp16 on CUDA; bf16 on CPUs with bf16 in hardware (torch engines), else fp32")
    parser.add_argument("--fast", action="store_true",
                        help="paint with the fast version of the painter's family (<family>_fast: about 5x quicker "
                             "on a CPU, a little less faithful)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _painters_dir(parser)


def existing_folder(text: str) -> Path:
    """An option's folder that must exist (argparse reports the message in one line, exit 2)."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text}" if not path.exists() else f"not a folder: {text}")
    return path


def _painters_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--painters-dir", type=existing_folder, default=None,
                        help=f"a folder of painters to find by name before checkpoints/ (so does "
                             f"${SEARCH_PATH_VARIABLE}, folders separated by '{os.pathsep}')")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog=PROG, description="Stylise photos and clips with a trained painter.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)

    image = commands.add_parser("image", help="stylise one photo")
    image.add_argument("input", type=Path, help="photo in any format Pillow reads, or a folder of photos")
    image.add_argument("-o", "--output", type=Path, required=True,
                       help="output image, in the format its extension names (.png .jpg .webp .tif …); for a "
                            "folder of photos, a folder for the paintings (same names)")
    image.add_argument("--max-size", type=int, default=None, help="scale down so the longest side is at most this")
    _engine_options(image)

    video = commands.add_parser("video", help="stylise every frame of a clip, keeping timing and audio")
    video.add_argument("input", type=Path, help="clip in any format FFmpeg reads")
    video.add_argument("-o", "--output", type=Path, required=True,
                       help=f"output clip ({', '.join(WRITABLE_CLIP_SUFFIXES)})")
    video.add_argument("--batch-size", type=int, default=None,
                       help="frames per engine call (default: 4 up to 1080p, fewer above, 1 at 4K)")
    video.add_argument("--crf", type=int, default=18, help="H.264 quality: 0 lossless, 18 visually lossless, 51 worst")
    video.add_argument("--preset", default="medium", choices=X264_PRESETS,
                       help="x264 speed preset (NVENC takes the nearest of its own)")
    video.add_argument("--encoder", default="auto", choices=list(ENCODERS),
                       help="H.264 encoder: nvenc (an NVIDIA GPU's encoder chip) or x264; auto: nvenc where it opens")
    video.add_argument("--start", type=float, default=0.0, help="start of the range to render, in seconds")
    video.add_argument("--duration", type=float, default=None, help="length of the range in seconds (default: all)")
    video.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                       help="render segments in parallel with Ray, on the cluster at ADDRESS or, without one, a "
                            "local Ray started for this clip (pip install -r requirements-ray.txt)")
    video.add_argument("--ray-workers", type=int, default=0,
                       help="segments painted at a time with --ray (0: one per GPU, else one per CPU)")
    video.add_argument("--keyframes", default=None,
                       help="blends at seconds of the output, eased between, e.g. '0:vangogh_starry_night; "
                            "4:munch_the_scream; 8:hokusai_great_wave=0.5,munch_the_scream=0.5'")
    video.add_argument("--pixel-format", default="yuv420p", choices=PIXEL_FORMATS,
                       help="yuv420p plays everywhere (an odd size gets one more row or column); yuv444p keeps full "
                            "colour resolution and any size, but browsers, phones and QuickTime do not play it")
    video.add_argument("--max-size", type=int, default=None,
                       help="scale frames down so the longest side is at most this (a quick preview)")
    video.add_argument("--stabilize", type=float, default=None, metavar="S",
                       help=f"steady the painting from frame to frame: 0 off (each frame painted alone) to 1 "
                            f"strongest (default {DEFAULT_STRENGTH:g}; a mosaic: off)")
    _engine_options(video)

    export = commands.add_parser("export", help="export a painter to ONNX, verified against PyTorch")
    export.add_argument("painter", help="painter or family name in checkpoints/, or a .pt path; a painter of a "
                                        "family exports alone, as a one-painter graph")
    export.add_argument("-o", "--output", type=Path, default=None,
                        help="ONNX file (default: beside the .pt, <name>.onnx or <name>.fp16.onnx)")
    export.add_argument("--fp16", action="store_true", help="half-precision weights and arithmetic (for GPUs)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _painters_dir(export)

    prebuild = commands.add_parser(
        "prebuild", help="compile painters once for this CPU, for any frame size: photos and clips then run at "
                         "compiled speed without compiling (about 2 minutes a painter file on 2 cores)")
    prebuild.add_argument("painter", nargs="*", default=list(prebuilt.SHIPPED_FAMILIES),
                          help="painters or families (default: the shipped families, full and fast)")
    prebuild.add_argument("--precision", choices=("auto", *prebuilt.DTYPES), default="auto",
                          help="auto: bf16 on CPUs with bf16 in hardware, else fp32 (what --precision auto paints in)")
    _painters_dir(prebuild)

    reference = commands.add_parser(
        "reference", help="the original optimisation method (Gatys et al.; clips: Ruder et al.), for photos and clips")
    reference.add_argument("input", type=Path, help="photo, or clip (any format FFmpeg reads)")
    reference.add_argument("-o", "--output", type=Path, required=True,
                           help=f"output image (any format Pillow writes, e.g. .png .jpg .webp .tif) or clip "
                                f"({', '.join(WRITABLE_CLIP_SUFFIXES)})")
    reference.add_argument("--size", type=int, default=None,
                           help="longest side of the result in px (default: 512 for photos, a clip's own size)")
    reference.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_dataclass_options(reference, ReferenceConfig)

    compare = commands.add_parser(
        "compare", help="painters vs the reference method: quality, flicker and speed, in a report")
    add_dataclass_options(compare, CompareConfig)
    return parser


def check_output(src: Path | None, dst: Path, overwrite: bool, suffixes: tuple[str, ...]) -> None:
    """Refuse outputs that would lose data or could not be written, before any work is done."""
    if dst.suffix.lower() not in suffixes:
        what = f"{dst.suffix} is not supported for this output" if dst.suffix else "it has no extension"
        raise UsageError(f"cannot write {dst.name}: {what}; name it with one of {' '.join(sorted(suffixes))}")
    if src is not None and dst.resolve() == src.resolve():
        raise UsageError("the output path is the input path; inputs are never overwritten")
    if not dst.parent.is_dir():
        raise UsageError(f"output folder does not exist: {dst.parent}")
    if dst.is_dir():
        raise UsageError(f"{dst} is a folder; give a file name")
    if dst.exists() and not overwrite:
        raise UsageError(f"{dst} exists; pass --overwrite to replace it")
    if not os.access(dst.parent, os.W_OK):
        raise UsageError(f"cannot write to the folder {dst.parent}")


def check_image_output(src: Path | None, dst: Path, overwrite: bool) -> None:
    """``check_output`` for pictures Pillow can write (it reads more formats than it writes: .psd, .mpg …)."""
    if dst.suffix.lower() in set(Image.registered_extensions()) - set(writable_image_suffixes()):
        raise UsageError(f"cannot write {dst.suffix} pictures; use .png, .jpg, .tif or .webp")
    check_output(src, dst, overwrite, writable_image_suffixes())


def check_input(src: Path) -> None:
    if src.is_dir():
        raise UsageError(f"{src} is a folder; give a file")
    if not src.is_file():
        raise UsageError(f"no such file: {src}")


def _tiling(args: argparse.Namespace) -> Tiling:
    if args.tile is not None and args.tile < 16:
        raise UsageError(f"--tile must be at least 16 px, not {args.tile}")
    try:
        return Tiling(args.tile, parse_size(args.max_memory) if args.max_memory else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _stylizer(args: argparse.Namespace, workload: float = 0) -> Stylizer:
    """``workload``: the pixels the painter will see (the frames' over the stroke size squared)."""
    stylizer = Stylizer(args.painter, args.engine, args.device, args.precision, blend=args.blend,
                        strength=args.strength, preserve_colors=args.preserve_colors, stroke_size=args.stroke_size,
                        tiling=_tiling(args), workload=workload,
                        fast=args.fast, keep_light=args.keep_light)
    if args.explain:
        print(stylizer.explain(), file=sys.stderr, flush=True)
    return stylizer


def painted_size(photo: Path, max_size: int | None) -> tuple[float, float] | None:
    """The size a photo is painted at, from its header; None if it cannot be read (reported when painted)."""
    try:
        with Image.open(photo) as image:
            w, h = image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    scale = min(1.0, max_size / max(w, h)) if max_size else 1.0
    return w * scale, h * scale


def photo_pixels(photos: list[Path], max_size: int | None, stroke_size: float | None) -> float:
    """The pixels the painter will see (what ``auto`` weighs the engines by): the photos' painted sizes over
    their stroke sizes squared."""
    if stroke_size is not None:
        check_stroke_size(stroke_size)
    total = 0.0
    for size in filter(None, (painted_size(photo, max_size) for photo in photos)):
        total += size[0] * size[1] / (stroke_size or picture_stroke_size(round(max(size))))**2
    return total


def frame_count(count: int) -> str:
    return f"{count} frame{'' if count == 1 else 's'}"


def run_image(args: argparse.Namespace) -> str:
    if args.max_size is not None and args.max_size < MIN_SIDE:
        raise UsageError(f"--max-size must be at least {MIN_SIDE} px, not {args.max_size}")
    if args.input.is_dir():
        return run_image_folder(args)
    check_input(args.input)
    check_image_output(args.input, args.output, args.overwrite)
    stylizer = _stylizer(args, photo_pixels([args.input], args.max_size, args.stroke_size))
    stylizer.file(args.input, args.output, args.max_size, overwrite=args.overwrite)
    size = painted_size(args.input, args.max_size)
    side = round(max(size)) if size else 0
    strokes = (f", strokes ×{stylizer.photo_stroke_size(side):.2g} for its {side} px (--stroke-size 1: as trained)"
               if args.stroke_size is None and picture_stroke_size(side) > 1 else "")
    return f"wrote {args.output} ({stylizer.who}, {stylizer.engine.description}{strokes})"


#: Beside a folder's paintings: the settings they were painted with, so a run goes on only with the same ones.
FOLDER_SETTINGS = ".painters-settings.json"


def folder_settings(args: argparse.Namespace, stylizer: Stylizer) -> dict[str, Any]:
    """What decides how a folder's paintings look (not how fast they are made)."""
    return {"painter": stylizer.name, "fast": args.fast, "strength": args.strength,
            "preserve_colors": args.preserve_colors, "keep_light": args.keep_light, "stroke_size": args.stroke_size,
            "max_size": args.max_size}


def check_folder_settings(dst: Path, outputs: list[Path], settings: dict[str, Any], overwrite: bool) -> None:
    """Refuse to go on with paintings made with other settings (or unknown ones): a folder must not end up
    holding two painters' work at two sizes."""
    record = dst / FOLDER_SETTINGS
    if overwrite or not any(out.exists() for out in outputs):
        return
    try:
        before = json.loads(record.read_text())
    except (OSError, ValueError):
        raise UsageError(f"{dst} already holds paintings of settings not recorded there: paint into another folder, "
                         "or add --overwrite to paint every photo again") from None
    changed = [key.replace("_", "-") for key in settings if before.get(key) != settings[key]]
    if changed:
        raise UsageError(f"{dst} holds paintings made with another {', '.join(changed)}: paint into another folder, "
                         "or add --overwrite to paint every photo again")


def run_image_folder(args: argparse.Namespace) -> str:
    """Every photo of a folder into a folder of paintings of the same names; ones already painted with the same
    settings are kept (so a stopped run goes on where it stopped) unless --overwrite."""
    src, dst = args.input, args.output
    if dst.suffix.lower() in Image.registered_extensions():
        raise UsageError(f"{src} is a folder of photos: give -o a folder for the paintings, not {dst.name}")
    if dst.resolve() == src.resolve():
        raise UsageError("the output folder is the input folder; inputs are never overwritten")
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"{dst} is a file; give -o a folder for the paintings")
    if not dst.parent.is_dir():
        raise UsageError(f"output folder does not exist: {dst.parent}")
    photos = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise UsageError(f"no photos in {src} ({', '.join(sorted(IMAGE_SUFFIXES))})")
    stylizer = _stylizer(args, photo_pixels(photos, args.max_size, args.stroke_size))
    outputs = [dst / (photo.name if photo.suffix.lower() in writable_image_suffixes()
                      else photo.with_suffix(".png").name)  # a photo format Pillow cannot write becomes PNG
               for photo in photos]
    settings = folder_settings(args, stylizer)
    check_folder_settings(dst, outputs, settings, args.overwrite)
    dst.mkdir(exist_ok=True)
    write_json(dst / FOLDER_SETTINGS, settings)
    done, kept, failed = 0, 0, []
    for photo, out in zip(progress_bar(photos, desc=stylizer.name, unit="photo"), outputs, strict=True):
        if out.exists() and not args.overwrite:
            kept += 1
            continue
        try:
            stylizer.file(photo, out, args.max_size, overwrite=True)
            done += 1
        except ImageReadError as exc:
            failed.append(photo.name)
            log.warning("skipped %s", exc)
    summary = f"painted {done} of {len(photos)} photos into {dst}/ ({stylizer.who}, {stylizer.engine.description})"
    summary += f"; kept {kept} painted before (--overwrite paints them again)" if kept else ""
    if failed:
        raise UsageError(f"{summary}; could not read {', '.join(failed)}")
    return summary


def run_video(args: argparse.Namespace) -> str:
    check_input(args.input)
    check_output(args.input, args.output, args.overwrite, WRITABLE_CLIP_SUFFIXES)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}")
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be more than 0 seconds, not {args.duration:g}")
    if not args.start >= 0:
        raise UsageError(f"--start must be 0 seconds or more, not {args.start:g}")
    if args.max_size is not None and args.max_size < MIN_SIDE:
        raise UsageError(f"--max-size must be at least {MIN_SIDE} px, not {args.max_size}")
    if not 0 <= args.crf <= 51:
        raise UsageError(f"--crf is from 0 (lossless) to 51 (worst), not {args.crf}")
    keyframes = parse_keyframes(args.keyframes) if args.keyframes else None
    if keyframes and args.blend:
        raise UsageError("give --blend (one mix for the whole clip) or --keyframes (mixes along it), not both")
    info = probe(args.input)  # a bad clip is reported before a painter is loaded
    if keyframes:
        check_keyframes_fit(keyframes, rendered_seconds(info, args.start, args.duration))
    choose_encoder(args.encoder)  # so is NVENC asked for where it cannot run
    if keyframes and not args.painter:  # the family of the first keyframe's first painter
        args.painter = [next(iter(keyframes[0].blend))]
    width, height = frame_size(info, args.max_size)
    seconds = rendered_seconds(info, args.start, args.duration)
    stroke = 1.0 if args.stroke_size is None else check_stroke_size(args.stroke_size)
    workload = max(0.0, seconds) * float(info.fps) * width * height / stroke**2  # pixels the painter sees
    # Loaded here too with --ray: a wrong painter or blend is reported before Ray starts.
    stylizer = _stylizer(args, 0 if args.ray is not None else workload)
    options = RenderOptions(args.batch_size, args.crf, args.preset, args.encoder, args.start, args.duration,
                            stabilize=stylizer.steady_strength(args.stabilize, keyframes is not None),
                            max_size=args.max_size, pixel_format=args.pixel_format)
    if args.ray is not None:
        if args.ray_workers < 0:
            raise UsageError("--ray-workers must be positive (0: one per GPU or CPU)")
        painting = Painting(args.painter, args.engine, args.device, args.precision,
                            {"blend": args.blend, "strength": args.strength, "preserve_colors": args.preserve_colors,
                             "keep_light": args.keep_light, "stroke_size": args.stroke_size, "tiling": _tiling(args),
                             "fast": args.fast},
                            args.keyframes)
        stats = render_with_ray(args.input, args.output, painting, options, args.ray or None, args.ray_workers)
    else:
        stats = stylizer.video(args.input, args.output, options, keyframes, overwrite=args.overwrite)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in stats.stage_seconds.items())
    return (f"wrote {args.output}: {frame_count(stats.frames)} in {stats.seconds:.1f} s ({stats.fps:.2f} frames/s; "
            f"{stages}) with {stylizer.who} on {stylizer.engine.description}"
            + (f", steadied at {options.stabilize:g}" if options.stabilize else "")
            + (f", encoded by {stats.encoder}" if stats.encoder else ""))


def run_export(args: argparse.Namespace) -> str:
    ref = find_painter(args.painter)
    pt = ref.files.pt
    if pt is None:
        raise UsageError(f"export needs the painter's .pt checkpoint; {args.painter} has none")
    weights = None
    if ref.painter is not None:  # one painter of a family: a one-painter graph of its own
        names = painter_names(read_painter(pt))
        weights = np.eye(len(names), dtype=np.float32)[names.index(ref.painter)]
    stem = pt.with_name(ref.painter) if ref.painter else pt.with_suffix("")
    output = args.output or stem.with_name(stem.name + (".fp16.onnx" if args.fp16 else ".onnx"))
    check_output(None, output, args.overwrite, (".onnx",))
    from infer.export import export_painter, verification_photos  # here: ONNX's import costs every command 0.7 s

    report = export_painter(pt, output, verification_photos(), fp16=args.fp16, weights=weights, name=ref.painter)
    checks = ", ".join(f"{size}: max {report.max_diff[size]} mean {report.mean_diff[size]:.4f}"
                       for size in report.max_diff)
    providers = ", ".join(report.providers)
    return f"wrote {output} ({report.precision}); difference to PyTorch fp32 in uint8 levels ({providers}): {checks}"


def run_prebuild(args: argparse.Namespace) -> str:
    precision = default_precision(torch.device("cpu"), "prebuilt", True) if args.precision == "auto" else args.precision
    files = []
    for name in args.painter:
        pt = find_painter(name).files.pt
        if pt is None:
            raise UsageError(f"prebuild needs the painter's .pt checkpoint; {name} has none")
        files.append(pt)
    missing = [pt for pt in files if not prebuilt.package_path(pt, precision).is_file()]
    expected = prebuilt.expected_build_seconds()
    if missing:
        log.info("building %s for this CPU (%s): about %.0f minutes on %d cores, once",
                 ", ".join(pt.stem for pt in missing), precision, len(missing) * expected / 60, torch.get_num_threads())
    lines = []
    for pt in files:
        package = prebuilt.package_path(pt, precision)
        state = "already built"
        if pt in missing:
            tick = time.perf_counter()
            with waiting(f"{pt.stem} ({missing.index(pt) + 1} of {len(missing)})", expected):
                prebuilt.build(pt, precision)
            state = f"built in {time.perf_counter() - tick:.0f} s"
        lines.append(f"{pt.stem} ({precision}): {state}, {package}")
    return "\n".join(lines)


def run_reference(args: argparse.Namespace) -> str:
    check_input(args.input)
    is_clip = not is_photo(args.input)
    if is_clip:
        check_output(args.input, args.output, args.overwrite, WRITABLE_CLIP_SUFFIXES)
    else:
        check_image_output(args.input, args.output, args.overwrite)
    if args.size is not None and args.size < 8:
        raise UsageError(f"--size must be at least 8 px, not {args.size}")
    cfg = from_args(ReferenceConfig, args)
    cfg.check()
    if is_clip:
        probe(args.input)
    else:  # intermediate images are refused now, not after minutes of optimising
        for label in snapshot_labels(cfg):
            snapshot = args.output.with_stem(f"{args.output.stem}_{label}")
            check_image_output(args.input, snapshot, args.overwrite)
    reference = ReferenceStylizer(cfg)  # checks the settings and reads the style image before loading VGG
    if is_clip:
        frames = frames_dir_for(args.output)
        engine = ReferenceClipEngine(reference, frames, args.size)
        stats = stylize_video(args.input, args.output, engine, RenderOptions(batch_size=1, stabilize=0))
        shutil.rmtree(frames)
        return f"wrote {args.output}: {frame_count(stats.frames)} in {stats.seconds:.1f} s ({reference.description})"
    photo = np.asarray(fit_longest_side(open_rgb(args.input), args.size or 512))

    def save(path: Path, image: np.ndarray) -> None:
        with atomic_path(path) as tmp:
            Image.fromarray(image).save(tmp, format=Image.registered_extensions()[path.suffix.lower()])

    out = args.output
    result, losses = reference.image(photo, lambda label, image: save(out.with_stem(f"{out.stem}_{label}"), image))
    save(out, result)
    return f"wrote {out} ({reference.description}; loss {losses[0]:.3f} -> {losses[-1]:.3f})"


def run_compare(args: argparse.Namespace) -> str:
    metrics = compare(from_args(CompareConfig, args))
    rows = "; ".join(f"{r['method']} {r['painter']}: style {r['style_distance']}, {r['seconds_per_frame']} s/frame"
                     for r in metrics["methods"])
    return f"wrote {args.output}/report.md ({rows})"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")  # other libraries: warnings only
    logging.getLogger("infer").setLevel(logging.INFO)
    command = {"image": run_image, "video": run_video, "export": run_export, "prebuild": run_prebuild,
               "reference": run_reference, "compare": run_compare}[args.command]
    if getattr(args, "painters_dir", None) is not None:
        search_first(args.painters_dir)
    stop_requests_interrupt()
    try:
        message = command(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the system refused a write (disk full, permissions …): nothing half-written is kept
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{PROG}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "image" and args.input.is_dir():
            print(f"{PROG}: interrupted; the photos painted so far are kept in {args.output}/ (the same command goes "
                  "on from there)", file=sys.stderr)
        else:
            print(f"{PROG}: interrupted; no output written", file=sys.stderr)
        return 130
    print(message)
    tip = prebuild_tip()
    if tip:
        log.info(tip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
