"""Benchmarks, experiments and the demo: run from the project root as ``python -m scripts.<name>``."""
