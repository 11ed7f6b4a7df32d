"""Pictures made of pictures: contact sheets for the README, the demo and reports."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from nets.files import atomic_path


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


def save_grid(rows: Sequence[Sequence[Image.Image]], path: str | os.PathLike) -> Image.Image:
    """``image_grid`` of the rows, written atomically (JPEG at quality 88, or the format of the name)."""
    sheet = image_grid(rows)
    with atomic_path(path) as tmp:
        sheet.save(tmp, quality=88)  # quality applies to JPEG and WebP; other formats ignore it
    return sheet


def caption(text: str, height: int = 22) -> Image.Image:
    """A white strip with ``text`` on it: a column header for a contact sheet."""
    font = ImageFont.load_default(size=14)
    width = round(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text, font=font)) + 8
    strip = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(strip).text((4, height // 2), text, fill="black", font=font, anchor="lm")
    return strip


#: Line colours of plots, in the order series are given.
COLOURS = ("#444444", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def line_plot(series: dict[str, Sequence[float]], title: str, xlabel: str, ylabel: str,
              size: tuple[int, int] = (900, 420), x_step: int = 1) -> Image.Image:
    """A plain line chart of named series over their index, with a legend: enough for a report.

    The n-th point (from 1) is labelled n·``x_step`` on the x axis (steps of a curve logged every k steps).
    """
    width, height = size
    left, right, top, bottom = 80, 20, 36, 44
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=13)
    values = [v for s in series.values() for v in s]
    high = max(values) * 1.05 if values and max(values) > 0 else 1.0
    count = max(len(s) for s in series.values())
    plot_w, plot_h = width - left - right, height - top - bottom

    def point(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / max(count - 1, 1), top + plot_h * (1 - v / high)

    draw.rectangle((left, top, left + plot_w, top + plot_h), outline="black")
    for k in range(5):
        value = high * k / 4
        y = point(0, value)[1]
        draw.line((left - 4, y, left, y), fill="black")
        draw.text((left - 6, y), f"{value:.2g}", fill="black", font=font, anchor="rm")
    for k in range(min(count, 6)):
        i = round((count - 1) * k / max(min(count, 6) - 1, 1))
        x = point(i, 0)[0]
        draw.line((x, top + plot_h, x, top + plot_h + 4), fill="black")
        draw.text((x, top + plot_h + 6), str((i + 1) * x_step), fill="black", font=font, anchor="mt")
    draw.text((width / 2, 10), title, fill="black", font=font, anchor="mt")
    draw.text((left + plot_w / 2, height - 6), xlabel, fill="black", font=font, anchor="mb")
    draw.text((6, top - 20), ylabel, fill="black", font=font)
    colours = {name: COLOURS[n % len(COLOURS)] for n, name in enumerate(series)}
    for name, values in series.items():
        draw.line([point(i, v) for i, v in enumerate(values)], fill=colours[name], width=2)
    legend_w = max(draw.textlength(name, font=font) for name in series) + 16
    x0, y0 = left + plot_w - legend_w - 8, top + 8
    draw.rectangle((x0, y0, x0 + legend_w, y0 + 16 * len(series) + 6), fill="white", outline="#999999")
    for n, (name, colour) in enumerate(colours.items()):
        draw.text((x0 + 8, y0 + 4 + 16 * n), name, fill=colour, font=font)
    return img
