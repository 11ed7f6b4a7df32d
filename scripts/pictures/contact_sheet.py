"""Contact sheet of painters: one row per photo, photo | each painter's result, as one JPEG or PNG.

    python -m scripts.pictures.contact_sheet -m vangogh_starry_night munch_the_scream -o docs/sheet.jpg a.jpg b.jpg
    python -m scripts.pictures.contact_sheet -m old/vangogh.pt vangogh_starry_night --labels "before" "after" ...
    python -m scripts.pictures.contact_sheet -m checkpoints/four_painters.pt new.pt \\
        --blend seurat_sunday_on_la_grande_jatte ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from infer.sheet import caption, save_grid
from infer.stylizer import Stylizer
from nets.images import fit_longest_side, open_rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("-m", "--painter", nargs="+", required=True, help="painter names in checkpoints/ or paths")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--size", type=int, default=256, help="longest side of each photo in px")
    parser.add_argument("--labels", nargs="+", default=None, help="column headers, one per painter")
    parser.add_argument("--blend", default=None, help="one painter (or a mix) of each family file given to -m")
    args = parser.parse_args()
    if args.labels is not None and len(args.labels) != len(args.painter):
        parser.error("--labels takes one header per painter")
    stylizers = [Stylizer(painter, blend=args.blend) for painter in args.painter]
    rows = [[caption("photo")] + [caption(label) for label in args.labels]] if args.labels else []
    for path in args.photos:
        photo = fit_longest_side(open_rgb(path), args.size)
        rows.append([photo] + [Image.fromarray(s.image(np.asarray(photo))) for s in stylizers])
    sheet = save_grid(rows, args.output)
    print(f"wrote {args.output} ({sheet.width}×{sheet.height})")


if __name__ == "__main__":
    main()
