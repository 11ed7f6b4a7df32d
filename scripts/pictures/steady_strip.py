"""The README's picture of the stabiliser: the same spot of a panning clip in consecutive frames, painted
plain (top: the strokes are redrawn every frame) and steadied (bottom: they travel with the scene).

The clip is a sub-pixel pan over a photo (``scripts.helpers.known_motion``); each crop follows the scene, so a
steady painting looks the same in every column.

    python -m scripts.pictures.steady_strip ../shared/data/photos/val/bsds300_img_001.jpg -o docs/steady_strip.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from infer.resampling import remap
from infer.sheet import caption, image_grid, save_grid
from infer.steady import DEFAULT_STRENGTH, stabilize_frames
from infer.stylizer import Stylizer
from nets.images import open_rgb
from scripts.helpers.known_motion import camera_move


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("-m", "--painter", default="hokusai_great_wave")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--crop", type=int, default=96, help="side of each crop in px (shown at twice the size)")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/steady_strip.jpg"))
    args = parser.parse_args()
    clip = camera_move(np.asarray(open_rgb(args.photo)), "pan", args.frames + 4, 320, 180)
    engine = Stylizer(args.painter, engine="torch").engine
    plain = [engine(frame[None])[0] for frame in clip.frames]
    steady = stabilize_frames(engine, clip.frames, DEFAULT_STRENGTH)
    parts = []
    for label, frames in ((f"{args.painter}: each frame painted alone", plain),
                          (f"steadied (--stabilize {DEFAULT_STRENGTH:g})", steady)):
        crops, changes, place = [], [], np.array([112.0, 40.0])  # top-left of the crop, moving with the scene
        for t in range(4, len(frames)):  # the stabiliser settles over the first frames
            place -= clip.flows[t - 1][0, 0]  # the scene moved by minus the backward flow
            x, y = np.rint(place).astype(int)
            inside = (slice(y, y + args.crop), slice(x, x + args.crop))
            crops.append(frames[t][inside])
            change = np.abs(frames[t].astype(np.float32) - remap(frames[t - 1].astype(np.float32), clip.flows[t - 1]))
            changes.append(np.clip(4 * change[inside], 0, 255).astype(np.uint8))
        big = [Image.fromarray(c).resize((2 * args.crop, 2 * args.crop), Image.Resampling.NEAREST)
               for c in crops + changes]
        parts += [[caption(label, 26)], [image_grid([big[:len(crops)], big[len(crops):]])]]
    parts.append([caption("lower rows: change from the frame before moved into place by the exact motion, x4", 26)])
    grid = save_grid(parts, args.output)
    print(f"wrote {args.output} ({grid.size[0]}×{grid.size[1]})")


if __name__ == "__main__":
    main()
