"""The demo: stylise scikit-image's bundled sample photos with every shipped painter.

Needs nothing but the installed packages and checkpoints/ (no internet, no ../shared). Writes one
image per photo and painter plus a contact sheet (photo | painters…) into the output folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infer.engines import CHECKPOINTS  # noqa: E402
from infer.sheet import image_grid  # noqa: E402
from infer.stylizer import Stylizer  # noqa: E402
from nets.files import atomic_path  # noqa: E402
from nets.images import fit_longest_side  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("demo_output"))
    parser.add_argument("--size", type=int, default=512, help="longest side of the photos in px")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    painters = sorted(p.stem for p in CHECKPOINTS.glob("*.pt"))
    if not painters:
        sys.exit(f"demo: error: no painters in {CHECKPOINTS}")
    stylizers = [Stylizer(name) for name in painters]
    photos = {name: fit_longest_side(Image.fromarray(getattr(data, name)()), args.size) for name in PHOTOS}

    started = time.perf_counter()
    rows = []
    with tqdm(total=len(photos) * len(stylizers), desc="demo", unit="image") as progress:
        for photo_name, photo in photos.items():
            row = [photo]
            for stylizer in stylizers:
                styled = Image.fromarray(stylizer.image(np.asarray(photo)))
                with atomic_path(args.output / f"{photo_name}_{stylizer.name}.jpg") as tmp:
                    styled.save(tmp, quality=92)
                row.append(styled)
                progress.update()
            rows.append(row)
    with atomic_path(args.output / "contact_sheet.jpg") as tmp:
        image_grid(rows).save(tmp, quality=88)
    print(f"stylised {len(photos)} photos with {', '.join(painters)} in {time.perf_counter() - started:.1f} s "
          f"with {stylizers[0].engine.description}; see {args.output}/contact_sheet.jpg")


if __name__ == "__main__":
    main()
