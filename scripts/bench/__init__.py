"""Benchmarks and profilers: each writes JSON (under docs/bench/) and prints a table, its baseline measured in
the same run. ``python -m scripts.bench.<name> --help``."""
