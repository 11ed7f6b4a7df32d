"""Pools several runs of scripts/experiments/temporal.py (e.g. one per --seed) into one table.

One run is not enough to judge the temporal term. With identical settings and another seed, the
baseline's own warping error and style distance move by about ±10%, as much as the effect being
measured. This prints each run's change against its own baseline (the first weight in it), then the
change of the means over all runs, and writes both as JSON.

    python -m scripts.experiments.temporal_summary runs/seed*.json --out temporal_summary.json

Decided with temporal.py: see its docstring; the pooled table is in README.md ("What it buys").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from nets.files import write_json


def measures(run: dict, painter: str) -> dict[str, float]:
    """Warping error per evaluation clip, and the validation style distance, of one painter of a run."""
    return {clip: row[painter] for clip, row in run["clips"].items()} | {
        "val style": run["painters"][painter]["val_style"]}


def change(before: float, after: float) -> str:
    return f"{before:.4g} → {after:.4g} ({after / before - 1:+.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="JSON files written by temporal_experiment.py")
    parser.add_argument("--out", type=Path, default=Path("temporal_summary.json"))
    args = parser.parse_args()
    runs = {path.name: json.loads(path.read_text()) for path in args.runs}
    names = [list(run["painters"]) for run in runs.values()]
    base = names[0][0]
    others = [name for name in names[0][1:] if all(name in n for n in names)]  # weights every run trained
    if any(n[0] != base for n in names) or not others:
        sys.exit(f"the runs need the same baseline and a weight in common; they trained {names}")

    table: dict[str, dict[str, dict[str, list[float]]]] = {}
    for other in others:
        per_run = {}
        for name, run in runs.items():
            before = measures(run, base)
            per_run[name] = {key: [before[key], after] for key, after in measures(run, other).items()}
        keys = next(iter(per_run.values()))
        mean = {key: [statistics.mean(r[key][i] for r in per_run.values()) for i in (0, 1)] for key in keys}
        table[other] = per_run | {f"mean of {len(runs)}": mean}

    write_json(args.out, {"baseline": base, "runs": [str(p) for p in args.runs], "table": table})
    for other, rows in table.items():
        keys = list(next(iter(rows.values())))
        print(f"\n{base} → {other}")
        print("| run | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys))
        for name, row in rows.items():
            print(f"| {name} | " + " | ".join(change(*row[key]) for key in keys) + " |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
