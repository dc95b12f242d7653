"""Horizontal bar charts drawn with Pillow (no plotting dependency).

A chart is a column of panels; each panel has its own linear scale and a bar per
row: label on the left, bar, and a text after the bar. Flagged bars get a red
outline and a "!" (used for peers that wrote a different number of files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = {
    "engine": (46, 139, 87),
    "engine-cli": (120, 190, 140),
    "floor": (120, 120, 120),
    "floor-nonref": (90, 90, 90),
    "decode-all": (175, 175, 175),
    "ffmpeg": (230, 140, 40),
    "opencv": (65, 105, 225),
    "pyav-naive": (150, 90, 180),
    "pyav-seek": (190, 140, 210),
    "pyav-nonkey": (190, 140, 210),
}
DEFAULT_COLOUR = (100, 100, 160)


@dataclass
class Bar:
    label: str
    value: float | None  # None: no bar (n/a)
    text: str = ""
    colour: tuple[int, int, int] = DEFAULT_COLOUR
    flagged: bool = False


@dataclass
class Panel:
    title: str
    bars: list[Bar] = field(default_factory=list)
    unit: str = "s"


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font, one size
        return ImageFont.load_default()


def _ascii(text: str) -> str:
    """The default font lacks a few glyphs used in titles."""
    return text.replace("×", "x").replace("²", "^2").replace("◀", "<").replace("⚠", "!")


def _nice(vmax: float) -> float:
    """Axis end: 1, 2, 2.5 or 5 × a power of ten, at or above ``vmax``."""
    import math

    if vmax <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(vmax))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= vmax:
            return m * exp
    return 10 * exp


def draw(panels: list[Panel], path: str | Path, title: str, *, width: int = 1400, columns: int = 1) -> Path:
    """Draw ``panels`` into a PNG at ``path``; returns the path."""
    title_font, panel_font, font = _font(22), _font(16), _font(13)
    row_h, pad, label_w, text_w = 22, 14, 170, 220
    col_w = (width - pad * (columns + 1)) // columns
    heights = [40 + row_h * max(len(p.bars), 1) + 30 for p in panels]
    rows = [heights[i : i + columns] for i in range(0, len(panels), columns)]
    total_h = 50 + sum(max(r) for r in rows) + pad * (len(rows) + 1)
    img = Image.new("RGB", (width, total_h), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, 12), _ascii(title), fill="black", font=title_font)
    y0 = 50
    for r, row in enumerate(rows):
        for c, _ in enumerate(row):
            panel = panels[r * columns + c]
            x0 = pad + c * (col_w + pad)
            _panel(d, panel, x0, y0, col_w, label_w, text_w, row_h, panel_font, font)
        y0 += max(row) + pad
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _panel(d: ImageDraw.ImageDraw, panel: Panel, x0: int, y0: int, w: int, label_w: int, text_w: int,
           row_h: int, panel_font, font) -> None:
    d.text((x0, y0), _ascii(panel.title), fill="black", font=panel_font)
    top = y0 + 28
    values = [b.value for b in panel.bars if b.value is not None and b.value > 0]
    vmax = _nice(max(values)) if values else 1.0
    bar_x = x0 + label_w
    bar_w = max(w - label_w - text_w, 50)
    for i, bar in enumerate(panel.bars):
        y = top + i * row_h
        d.text((x0, y + 3), _ascii(bar.label), fill="black", font=font)
        if bar.value is None:
            d.text((bar_x, y + 3), bar.text or "n/a", fill=(120, 120, 120), font=font)
            continue
        length = max(1, int(bar_w * bar.value / vmax))
        outline = (220, 0, 0) if bar.flagged else None
        d.rectangle([bar_x, y + 2, bar_x + length, y + row_h - 4], fill=bar.colour, outline=outline,
                    width=2 if bar.flagged else 1)
        text = _ascii(("! " if bar.flagged else "") + bar.text)
        d.text((bar_x + length + 6, y + 3), text, fill=(200, 0, 0) if bar.flagged else "black", font=font)
    # axis: 0 … vmax
    axis_y = top + len(panel.bars) * row_h + 2
    d.line([bar_x, top, bar_x, axis_y], fill="black")
    d.line([bar_x, axis_y, bar_x + bar_w, axis_y], fill="black")
    for frac in (0, 0.5, 1.0):
        x = bar_x + int(bar_w * frac)
        d.line([x, axis_y, x, axis_y + 4], fill="black")
        d.text((x - 8, axis_y + 6), f"{vmax * frac:g}", fill=(80, 80, 80), font=font)
    d.text((bar_x + bar_w + 18, axis_y + 6), panel.unit, fill=(80, 80, 80), font=font)
