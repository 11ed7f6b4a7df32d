"""``python -m train``: train one painter, or a family of painters, from style images and a folder of photos."""

from __future__ import annotations

import logging
import os
import sys

import torch

from nets.errors import UserError
from train.config import build_parser, config_from_args
from train.trainer import train

PROG = "python -m train"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(PROG, "Train a feed-forward painter (Johnson et al. 2016), or a family of painters "
                                "in one network (Dumoulin et al. 2017), from style images and a folder of photos.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    main_process = os.environ.get("RANK", "0") == "0"  # under torchrun, process 0 reports for all
    logging.getLogger("train").setLevel(logging.INFO if main_process else logging.WARNING)
    try:
        cfg = config_from_args(args)
        card = train(cfg)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the trainer saved its state and said how to resume
        return 130
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if not card:
        return 0
    print(f"wrote {cfg.out_dir}/{card['name']}.pt and .json after {card['steps']} steps in {card['wall_time_s']:.0f} s")
    for painter in card["painters"]:
        summary = ", ".join(f"{k}={v:.4g}" for k, v in painter["metrics"].items() if isinstance(v, float))
        print(f"  {painter['name']}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
