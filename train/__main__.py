"""``python -m train``: train one painter from a style image and a folder of photos."""

from __future__ import annotations

import logging
import sys

from nets.device import DeviceError
from nets.images import ImageReadError
from nets.painter import PainterFileError
from nets.vgg import VGGWeightsError
from train.config import build_parser, config_from_args
from train.data import EmptyFolderError
from train.trainer import TrainError, train

PROG = "python -m train"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(PROG, "Train a feed-forward painter (Johnson et al. 2016) for one style image.")
    cfg = config_from_args(parser.parse_args(argv))
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    logging.getLogger("train").setLevel(logging.INFO)
    try:
        card = train(cfg)
    except (TrainError, EmptyFolderError, ImageReadError, VGGWeightsError, DeviceError, PainterFileError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    metrics = card["metrics"]
    summary = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"wrote {cfg.out_dir}/{card['name']}.pt and .json after {card['steps']} steps "
          f"in {card['wall_time_s']:.0f} s ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
