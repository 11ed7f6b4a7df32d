"""A grid of blends of four painters of a family over one photo: a painter in each corner, mixes between.

The cell in column u and row v (both 0 … 1) mixes the corners bilinearly: top left (1−u)(1−v), top right
u(1−v), bottom left (1−u)v, bottom right uv. Every cell is one pass of the network.

    python -m scripts.pictures.blend_grid photo.jpg -m four_painters -o docs/blend_grid.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from infer.engines import PainterEngine
from infer.sheet import save_grid
from infer.stylizer import Stylizer
from nets.images import fit_longest_side, open_rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("-m", "--painter", default="four_painters", help="a family of at least four painters")
    parser.add_argument("--corners", nargs=4, default=None, help="the four painters (default: the family's first four)")
    parser.add_argument("--cells", type=int, default=5, help="cells per side")
    parser.add_argument("--size", type=int, default=192, help="longest side of each cell in px")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    family = Stylizer(args.painter)
    if family.network is None or len(family.network.painters) < 4:
        sys.exit(f"blend_grid: error: {args.painter} is not a family of four or more painters")
    names = [p["name"] for p in family.network.painters]
    corners = args.corners or names[:4]
    photo = np.asarray(fit_longest_side(open_rgb(args.photo), args.size))
    rows = []
    for v in np.linspace(0, 1, args.cells):
        row = []
        for u in np.linspace(0, 1, args.cells):
            shares = dict(zip(corners, ((1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v), strict=True))
            weights = np.array([shares.get(name, 0.0) for name in names], dtype=np.float32)
            row.append(Image.fromarray(PainterEngine(family.network, weights, "blend")(photo[None])[0]))
        rows.append(row)
    sheet = save_grid(rows, args.output)
    print(f"wrote {args.output}: corners {', '.join(corners)} ({sheet.width}×{sheet.height})")


if __name__ == "__main__":
    main()
