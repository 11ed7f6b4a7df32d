"""The pictures in README.md and docs/: contact sheets, blend grids, curves, the stabiliser strip, the studio."""
