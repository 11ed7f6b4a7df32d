"""Pictures made of pictures: contact sheets for the README, the demo and reports."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image


def image_grid(rows: Sequence[Sequence[Image.Image]], gap: int = 4) -> Image.Image:
    """Paste rows of images on white, each column as wide as its widest image, rows top-aligned."""
    columns = max(len(row) for row in rows)
    widths = [max(row[c].width for row in rows if c < len(row)) for c in range(columns)]
    heights = [max(img.height for img in row) for row in rows]
    sheet = Image.new("RGB", (sum(widths) + gap * (columns - 1), sum(heights) + gap * (len(rows) - 1)), "white")
    y = 0
    for row, height in zip(rows, heights, strict=True):
        x = 0
        for img, width in zip(row, widths, strict=False):  # short rows leave blanks
            sheet.paste(img, (x, y))
            x += width + gap
        y += height + gap
    return sheet
