"""Loss curves of training runs side by side, from the ``curves.json`` of scripts/gpu/train_job.py.

    python -m scripts.pictures.plot_train_curves docs/bench/gpu/train_curves.json --runs "old trainer" "new trainer" \\
        -o docs/bench/gpu/train_curves.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infer.sheet import line_plot
from nets.files import atomic_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", type=Path)
    parser.add_argument("--runs", nargs="+", required=True, help="the start of each run's name in the file")
    parser.add_argument("--terms", nargs="+", default=["total", "style", "content"])
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    curves = json.loads(args.curves.read_text())
    chosen = {prefix: next(v for k, v in curves.items() if k.startswith(prefix)) for prefix in args.runs}
    steps = {curve[1]["step"] - curve[0]["step"] for curve in chosen.values()}
    if len(steps) != 1:
        sys.exit("plot_train_curves: error: the runs were logged at different intervals")
    count = min(len(curve) for curve in chosen.values())
    series = {f"{run}: {term}": [point[term] for point in curve[:count]]
              for run, curve in chosen.items() for term in args.terms}
    with atomic_path(args.output) as tmp:
        line_plot(series, "training loss, same settings and seed", "step", "loss", x_step=steps.pop()).save(tmp)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
