"""The demo: a clip and sample photos in the style of every shipped painter, and a mosaic of them all.

Every painter of every painter file in checkpoints/ (a family holds several) takes part; each file's
network is opened once and shared by its painters.

Needs nothing but the installed packages and checkpoints/ (no internet, no ../shared): the clip is a
slow pan and zoom over scikit-image's bundled coffee photo, made here. Writes into the output folder
the input clip, one clip per painter, mosaic.mp4 (every painter side by side), mashup.mp4 (the clip
cross-fading through the painters of a family), one image per sample photo and painter, and a contact
sheet (photo | painters…).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from infer.engines import painter_engines
from infer.mosaic import MosaicEngine
from infer.painters import CHECKPOINTS, find_painter, painter_files
from infer.plan import open_network
from infer.sheet import save_grid
from infer.stylizer import Stylizer
from infer.video import write_video
from nets.files import atomic_path
from nets.images import fit_longest_side
from nets.progress import progress_bar

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
CLIP_PHOTO = "coffee"


def pan_zoom(photo: Image.Image, width: int, height: int, frames: int) -> Iterator[np.ndarray]:
    """A slow camera move over a still: zoom in by 25% while panning left to right, eased in and out."""
    w, h = photo.size
    for i in range(frames):
        t = 0.5 - 0.5 * math.cos(math.pi * i / max(frames - 1, 1))
        box_h = min(h, w * height / width) / (1 + 0.25 * t)
        box_w = box_h * width / height
        x, y = (w - box_w) * t, (h - box_h) / 2
        yield np.asarray(photo.transform((width, height), Image.Transform.EXTENT, (x, y, x + box_w, y + box_h),
                                         Image.Resampling.BICUBIC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("demo_output"))
    parser.add_argument("--size", type=int, default=512, help="longest side of the photos in px")
    # 384 px at 15 frames/s: six clips (each painter, the mosaic, the mash-up) in about a minute on two cores
    parser.add_argument("--clip-width", type=int, default=384, help="width of the 16:9 clip in px")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the clip")
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    families = painter_files(fast=False)  # a fast family would repeat the painters' names
    engines = [engine for stem in families for engine in painter_engines(open_network(find_painter(stem).files))]
    if not engines:
        sys.exit(f"demo: error: no painters in {CHECKPOINTS}")
    painters = [engine.name for engine in engines]
    stylizers = [Stylizer.of(engine) for engine in engines]
    photos = {name: fit_longest_side(Image.fromarray(getattr(data, name)()), args.size) for name in PHOTOS}

    started = time.perf_counter()
    clip = args.output / "input.mp4"
    height = 2 * round(args.clip_width * 9 / 32)
    coffee = Image.fromarray(getattr(data, CLIP_PHOTO)())
    write_video(clip, pan_zoom(coffee, args.clip_width, height, round(args.seconds * args.fps)), args.fps)
    for stylizer in [*stylizers, Stylizer.of(MosaicEngine(engines))] if len(engines) > 1 else stylizers:
        name = "mosaic" if isinstance(stylizer.engine, MosaicEngine) else stylizer.name
        stylizer.video(clip, args.output / f"{name}.mp4", overwrite=True)
    family = next((stem for stem, names in families.items() if len(names) > 1), None)
    if family is not None:  # a mash-up: the clip cross-fades through the family's painters
        names = families[family]
        keyframes = "; ".join(f"{k * args.seconds / (len(names) - 1):g}:{name}" for k, name in enumerate(names))
        Stylizer(family).video(clip, args.output / "mashup.mp4", keyframes=keyframes, overwrite=True)

    rows = []
    with progress_bar(total=len(photos) * len(stylizers), desc="photos", unit="image") as progress:
        for photo_name, photo in photos.items():
            row = [photo]
            for stylizer in stylizers:
                styled = Image.fromarray(stylizer.image(np.asarray(photo)))
                with atomic_path(args.output / f"{photo_name}_{stylizer.name}.jpg") as tmp:
                    styled.save(tmp, quality=92)
                row.append(styled)
                progress.update()
            rows.append(row)
    save_grid(rows, args.output / "contact_sheet.jpg")
    print(f"made {clip.name} ({args.clip_width}x{height}, {args.seconds:g} s) and stylised it and {len(photos)} photos "
          f"with {', '.join(painters)} in {time.perf_counter() - started:.1f} s on "
          f"{stylizers[0].engine.description}. Look at:\n"
          f"  {args.output / 'contact_sheet.jpg'}  the sample photos by every painter\n"
          + (f"  {args.output / 'mosaic.mp4'}  the clip by every painter side by side\n" if len(engines) > 1 else "")
          + (f"  {args.output / 'mashup.mp4'}  the clip cross-fading from painter to painter\n" if family else "")
          + f"  {args.output}/<painter>.mp4  the clip by each painter, steadied")


if __name__ == "__main__":
    main()
