"""``painters``: the project's one command once installed (``pip install .``, or ``-e .`` in a clone), from any
folder; ``python -m painters`` in a clone.

    painters image photo.jpg -m vangogh_starry_night -o out.png     # as python -m infer image …
    painters video clip.mp4 -m munch_the_scream -o out.mp4           # … video, export, prebuild, reference, compare
    painters train --style my_painting.jpg --photos photos/ …        # as python -m train …
    painters distill --photos photos/ …                               # as python -m train.distill …
    painters list                                                     # the painters it can find, and where

It sits above ``infer`` and ``train`` (which never import each other) and hands each its own arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

INFER_COMMANDS = ("image", "video", "export", "prebuild", "reference", "compare")
COMMANDS = (*INFER_COMMANDS, "train", "distill", "list")
USAGE = f"""usage: painters {{{",".join(COMMANDS)}}} ...

Paint photos and clips in the style of a painting.

commands:
  image      stylise one photo
  video      stylise every frame of a clip, keeping timing and audio
  export     export a painter to ONNX, verified against PyTorch
  prebuild   compile painters once for this CPU: photos and clips then paint at compiled speed
  reference  the original optimisation method (Gatys et al.), for photos and clips
  compare    painters vs the reference method: quality, flicker and speed, in a report
  train      train a painter, or a family of painters, from style images and photos
  distill    teach a small, fast family the pictures of a full one (for live use on a CPU)
  list       the painters found (checkpoints/, $PAINTERS_PATH, --painters-dir) with their paintings

'painters COMMAND --help' tells more."""


def list_painters(argv: list[str]) -> int:
    """Print every painter file found by name, its painters, their paintings and a few numbers of the card."""
    from infer.painters import every_painter_file, read_painter_records, search_first, style_image_of

    parser = argparse.ArgumentParser(prog="painters list", description=list_painters.__doc__)
    parser.add_argument("--painters-dir", type=Path, default=None, help="a folder of painters to list first")
    args = parser.parse_args(argv)
    if args.painters_dir is not None:
        search_first(args.painters_dir)
    found = every_painter_file()
    if not found:
        print("no painters found (checkpoints/, $PAINTERS_PATH)")
        return 1
    for source in found:
        card_path = source.with_name(source.name.split(".")[0] + ".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        made = f"{card['steps']} steps on {card['device']}" if "steps" in card else "no model card"
        print(f"{source}  ({made})")
        for record in card.get("painters") or read_painter_records(source):
            style = style_image_of(record, source)
            metrics = record.get("metrics") or {}
            numbers = ", ".join(f"{label} {metrics[key]:.3g}" for key, label in (
                ("val_style", "style distance"), ("val_content", "content distance"), ("warping_error", "flicker"))
                if isinstance(metrics.get(key), float))
            print(f"  {record['name']:34s} painting: {style.resolve() if style else record.get('style_image') or '?'}"
                  + (f" ({numbers})" if numbers else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "list":
        return list_painters(rest)
    if command == "train":
        from train.__main__ import main as train

        return train(rest)
    if command == "distill":
        from train.distill import main as distill

        return distill(rest)
    if command in INFER_COMMANDS:
        from infer.__main__ import main as infer

        return infer(argv)
    print(f"painters: error: unknown command {command!r}; one of {', '.join(COMMANDS)}", file=sys.stderr)
    return 2
