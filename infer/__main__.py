"""``python -m infer``: stylise photos and clips with a trained painter, and export painters to ONNX."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from infer.engines import ENGINES, PRECISIONS, EngineError, find_painter
from infer.export import ExportError, export_painter
from infer.stylizer import Stylizer
from infer.video import RenderOptions, VideoError, probe
from nets.device import DeviceError
from nets.images import ImageReadError, fit_longest_side
from nets.painter import PainterFileError

PROG = "python -m infer"
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")


class UsageError(ValueError):
    """A command line that would lose data or cannot work, refused before any work is done."""


USER_ERRORS = (UsageError, DeviceError, EngineError, ExportError, ImageReadError, PainterFileError, VideoError)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--painter", required=True, help="painter name in checkpoints/, or a .pt/.onnx path")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="onnx (ONNX Runtime) or torch; auto: onnx when the painter has an exported file")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: fp16 on CUDA, fp32 on CPU")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog=PROG, description="Stylise photos and clips with a trained painter.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    fmt = argparse.ArgumentDefaultsHelpFormatter

    image = commands.add_parser("image", help="stylise one photo", formatter_class=fmt)
    image.add_argument("input", type=Path, help="photo in any format Pillow reads")
    image.add_argument("-o", "--output", type=Path, required=True, help="output image; format from the extension")
    image.add_argument("--max-size", type=int, default=None, help="scale down so the longest side is at most this")
    _engine_options(image)

    video = commands.add_parser("video", help="stylise every frame of a clip, keeping timing and audio",
                                formatter_class=fmt)
    video.add_argument("input", type=Path, help="clip in any format FFmpeg reads")
    video.add_argument("-o", "--output", type=Path, required=True, help=f"output clip ({', '.join(VIDEO_SUFFIXES)})")
    video.add_argument("--batch-size", type=int, default=4, help="frames per engine call")
    video.add_argument("--crf", type=int, default=18, help="H.264 quality: 0 lossless, 18 visually lossless, 51 worst")
    video.add_argument("--preset", default="medium", help="x264 speed preset (ultrafast … veryslow)")
    video.add_argument("--start", type=float, default=0.0, help="start of the range to render, in seconds")
    video.add_argument("--duration", type=float, default=None, help="length of the range in seconds (default: all)")
    _engine_options(video)

    export = commands.add_parser("export", help="export a painter to ONNX, verified against PyTorch",
                                 formatter_class=fmt)
    export.add_argument("painter", help="painter name in checkpoints/ or a .pt path")
    export.add_argument("-o", "--output", type=Path, default=None,
                        help="ONNX file (default: beside the .pt, <name>.onnx or <name>.fp16.onnx)")
    export.add_argument("--fp16", action="store_true", help="half-precision weights and arithmetic (for GPUs)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    return parser


def check_output(src: Path | None, dst: Path, overwrite: bool, suffixes: tuple[str, ...]) -> None:
    """Refuse outputs that would lose data or could not be written, before any work is done."""
    if dst.suffix.lower() not in suffixes:
        raise UsageError(f"cannot tell the output format from {dst.name}; use one of {' '.join(sorted(suffixes))}")
    if src is not None and dst.resolve() == src.resolve():
        raise UsageError("the output path is the input path; inputs are never overwritten")
    if not dst.parent.is_dir():
        raise UsageError(f"output folder does not exist: {dst.parent}")
    if dst.exists() and not overwrite:
        raise UsageError(f"{dst} exists; pass --overwrite to replace it")


def check_input(src: Path) -> None:
    if not src.is_file():
        raise UsageError(f"no such file: {src}")


def run_image(args: argparse.Namespace) -> str:
    check_input(args.input)
    check_output(args.input, args.output, args.overwrite, tuple(Image.registered_extensions()))
    stylizer = Stylizer(args.painter, args.engine, args.device, args.precision)
    stylizer.file(args.input, args.output, args.max_size)
    return f"wrote {args.output} ({stylizer.name}, {stylizer.engine.description})"


def run_video(args: argparse.Namespace) -> str:
    check_input(args.input)
    check_output(args.input, args.output, args.overwrite, VIDEO_SUFFIXES)
    if args.batch_size < 1 or args.start < 0 or (args.duration is not None and args.duration <= 0):
        raise UsageError("--batch-size and --duration must be positive and --start not negative")
    probe(args.input)  # a bad clip is reported before a painter is loaded
    stylizer = Stylizer(args.painter, args.engine, args.device, args.precision)
    options = RenderOptions(args.batch_size, args.crf, args.preset, args.start, args.duration)
    stats = stylizer.video(args.input, args.output, options)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in stats.stage_seconds.items())
    return (f"wrote {args.output}: {stats.frames} frames in {stats.seconds:.1f} s ({stats.fps:.2f} frames/s; "
            f"{stages}) with {stylizer.name} on {stylizer.engine.description}")


def verification_photos() -> list[np.ndarray]:
    """A real photo at two sizes, one odd, from scikit-image's bundled samples (available offline)."""
    from skimage import data

    photo = Image.fromarray(data.astronaut())
    return [np.asarray(fit_longest_side(photo, 256)), np.asarray(photo.resize((181, 139), Image.Resampling.LANCZOS))]


def run_export(args: argparse.Namespace) -> str:
    files = find_painter(args.painter)
    if files.pt is None:
        raise UsageError(f"export needs the painter's .pt checkpoint; {args.painter} has none")
    output = args.output or files.pt.with_suffix(".fp16.onnx" if args.fp16 else ".onnx")
    check_output(None, output, args.overwrite, (".onnx",))
    report = export_painter(files.pt, output, verification_photos(), fp16=args.fp16)
    checks = ", ".join(f"{size}: max {report.max_diff[size]} mean {report.mean_diff[size]:.4f}"
                       for size in report.max_diff)
    providers = ", ".join(report.providers)
    return f"wrote {output} ({report.precision}); difference to PyTorch fp32 in uint8 levels ({providers}): {checks}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")  # other libraries: warnings only
    logging.getLogger("infer").setLevel(logging.INFO)
    command = {"image": run_image, "video": run_video, "export": run_export}[args.command]
    try:
        message = command(args)
    except USER_ERRORS as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no output written", file=sys.stderr)
        return 130
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
