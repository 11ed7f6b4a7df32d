"""Using trained painters: ``python -m infer --help``."""
