"""Compose what the viewer shows, as pure arrays: the coloured heatmap with its value
scale, the colour bar, and the captioned figure that `snapshot()`, `save()`, the saved
notebook and the download button all carry. numpy and Pillow (through `render`) only: no
widgets, so a data-set gallery can reuse it for thumbnails.

Colour conventions
------------------
- A map that is >= 0 (Grad-CAM after its ReLU, gradient magnitudes) runs from its low
  end to its peak; ``scale="map"`` stretches each map to its own range, ``scale="shared"``
  divides by one peak given by the caller (all classes of one image and layer), so a weak
  class looks weak.
- A signed map (guided gradients) is centred on zero: ``-m -> 0``, ``0 -> 0.5``,
  ``+m -> 1`` with ``m`` the largest magnitude, in a diverging colormap by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cam_widgets import render

__all__ = [
    "AUTO",
    "DIVERGING",
    "SEQUENTIAL",
    "ColourScale",
    "colour_scale",
    "colourmap_name",
    "heatmap",
    "heat_indices",
    "palette",
    "bar_labels",
    "colour_bar",
    "figure",
    "text_block",
    "enlarge",
    "format_value",
    "blend_overlay",
    "outline",
    "outline_rects",
]

AUTO = "auto"
SEQUENTIAL = "jet"  # what "auto" means for maps >= 0 (the viewer's long-standing default)
DIVERGING = "RdBu_r"  # what "auto" means for signed maps: blue < 0, white = 0, red > 0
BAR_HEIGHT = 12  # pixels of the colour strip in a colour bar
_TEXT = (20, 20, 20, 255)
_PAPER = (255, 255, 255, 255)


@dataclass(frozen=True)
class ColourScale:
    """How map values become colours: `low` is drawn as the colormap's 0, `high` as its 1."""

    colormap: str
    low: float
    high: float
    signed: bool

    def unit(self, values: np.ndarray) -> np.ndarray:
        """Values -> [0, 1] positions on the colormap (clipped)."""
        span = self.high - self.low
        if span <= 0:
            return np.zeros_like(values, dtype=np.float32)
        return np.clip((values - self.low) / span, 0.0, 1.0).astype(np.float32)


def colourmap_name(name: str, signed: bool) -> str:
    """The colormap to use: `name`, or for "auto" a diverging one for signed maps."""
    if name == AUTO:
        return DIVERGING if signed else SEQUENTIAL
    return name


def colour_scale(
    values: np.ndarray, signed: bool, colormap: str, scale: str, peak: float | None = None
) -> ColourScale:
    """The value range a map is drawn with (see the module's conventions).

    `peak` is the shared scale's peak (largest magnitude over the maps that share it);
    with ``scale="map"`` it is ignored.
    """
    if scale not in ("map", "shared"):
        raise ValueError(f"scale must be 'map' or 'shared', got {scale!r}")
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    own = float(np.abs(values).max()) if values.size else 0.0
    name = colourmap_name(colormap, signed)
    if scale == "shared" and peak is not None and peak > 0:
        top = max(float(peak), own) if signed else float(peak)
        return ColourScale(name, -top if signed else 0.0, top, signed)
    if signed:
        return ColourScale(name, -own, own, True)
    low = float(values.min()) if values.size else 0.0
    return ColourScale(name, low, float(values.max()) if values.size else 0.0, False)


@lru_cache(maxsize=32)
def _table(colormap: str) -> np.ndarray:
    """The colormap's 256 colours as RGBA bytes (`render.colorize` of 256 steps)."""
    return render.colorize(((np.arange(256, dtype=np.float32) + 0.5) / 256)[None], colormap)[0]


def palette(colormap: str) -> np.ndarray:
    """The colormap's 256 colours, (256, 4) RGBA uint8."""
    return _table(colormap)


def heat_indices(values: np.ndarray, colours: ColourScale) -> np.ndarray:
    """(H, W) values -> uint8 positions in the colormap's 256-colour table, as matplotlib
    picks them for its listed colormaps (position x takes colour floor(256 x))."""
    unit = colours.unit(np.asarray(values, dtype=np.float32))
    return np.minimum(unit * 256, 255).astype(np.uint8)


def heatmap(values: np.ndarray, colours: ColourScale) -> np.ndarray:
    """(H, W) values -> opaque RGBA uint8 through the scale's colormap (a table lookup:
    equal to matplotlib's colours, without its per-pixel float interpolation)."""
    return _table(colours.colormap)[heat_indices(values, colours)]


def format_value(value: float) -> str:
    """Three significant digits, as on the colour bar and the class buttons."""
    if value == 0:
        return "0"
    return f"{value:.3g}"


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def bar_labels(colours: ColourScale) -> list[str]:
    """The values written under a colour bar: its low end, middle and high end."""
    middle = (colours.low + colours.high) / 2
    return [format_value(colours.low), format_value(middle), format_value(colours.high)]


def colour_bar(colours: ColourScale, width: int, font_size: int = 11,
               labels: bool = True) -> np.ndarray:
    """A horizontal colour bar `width` pixels wide: the colormap from `low` (left column)
    to `high` (right column), with the values at both ends and the middle written below
    (on white; `labels=False`: the ramp alone, for a page that writes them in its own
    colours). The colour of column ``j`` is the colormap at ``j / (width - 1)``."""
    width = max(int(width), 2)
    font = _font(font_size)
    text_height = font_size + 4 if labels else 0
    bar = np.full((BAR_HEIGHT + text_height, width, 4), 255, np.uint8)
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :].repeat(BAR_HEIGHT, axis=0)
    bar[:BAR_HEIGHT] = render.colorize(ramp, colours.colormap)
    if not labels:
        return bar
    canvas = Image.fromarray(bar, mode="RGBA")
    draw = ImageDraw.Draw(canvas)
    for text, where in zip(bar_labels(colours), (0.0, 0.5, 1.0)):
        text_width = draw.textbbox((0, 0), text, font=font)[2] + 1
        x = min(max(where * width - text_width / 2, 1), width - text_width - 3)
        draw.text((x, BAR_HEIGHT + 1), text, fill=_TEXT, font=font)
    return np.asarray(canvas)


def _enlarge(panel: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(panel, factor, axis=0), factor, axis=1) if factor > 1 else panel


def text_block(lines: list[str], width: int, font_size: int = 13) -> np.ndarray:
    """Lines of text on white, `width` pixels wide (cut with an ellipsis if too long),
    opaque RGBA uint8: the captions of the figure and of other views' pictures."""
    return _write(lines, width, font_size)


def enlarge(panel: np.ndarray, factor: int) -> np.ndarray:
    """`panel` enlarged by a whole `factor` (nearest), as the figure shows small images."""
    return _enlarge(panel, factor)


def _write(lines: list[str], width: int, font_size: int) -> np.ndarray:
    """Lines of text on white, `width` pixels wide (cut with an ellipsis if too long)."""
    font = _font(font_size)
    step = font_size + 5
    block = Image.new("RGBA", (width, step * len(lines) + 4), _PAPER)
    draw = ImageDraw.Draw(block)
    for row, line in enumerate(lines):
        line = line.replace("×", "x")  # Pillow's built-in font has no multiplication sign
        while line and draw.textlength(line, font=font) > width - 8:
            line = line[:-2] + "…"
        draw.text((4, 2 + row * step), line, fill=_TEXT, font=font)
    return np.asarray(block)


def figure(
    image: np.ndarray,
    heat: np.ndarray,
    overlay: np.ndarray,
    captions: list[str],
    colours: ColourScale | None,
    min_height: int = 192,
    scale: int = 1,
) -> np.ndarray:
    """The captioned view: caption lines, then image | heatmap | overlay (enlarged by a
    whole factor, nearest, so that small images are at least `min_height` tall), then the
    colour bar under the heatmap. Opaque RGBA uint8. `scale` 2 draws it all twice as large
    (text included: for a slide)."""
    height, width = image.shape[:2]
    factor = max(1, -(-min_height // height)) * scale
    strip = render.side_by_side(*(_enlarge(p, factor) for p in (image, heat, overlay)))
    font_size = 13 * scale
    parts = [_write(captions, strip.shape[1], font_size)] if captions else []
    parts.append(strip)
    if colours is not None:
        bar = colour_bar(colours, width * factor, font_size=11 * scale)
        row = np.full((bar.shape[0] + 4, strip.shape[1], 4), 255, np.uint8)
        row[4:, width * factor : 2 * width * factor] = bar
        parts.append(row)
    return np.concatenate(parts, axis=0)


def blend_overlay(image: np.ndarray, heat: np.ndarray, opacity: float) -> np.ndarray:
    """The overlay panel as the browser draws it: image, then heatmap at `opacity`. A
    canvas keeps its global alpha in 8 bits, so the opacity is rounded to 1/255 first
    (Chromium's pixels then match within one level)."""
    return render.blend(image, heat, round(float(opacity) * 255) / 255)


#: the region outline: a dark ring around a light one, so it shows on any colour
OUTLINE_COLOURS = ((0, 0, 0, 255), (255, 255, 255, 255))


def outline_rects(region: tuple[int, int, int, int], size: tuple[int, int]
                  ) -> list[tuple[int, int, int, int, tuple[int, int, int, int]]]:
    """The filled rectangles (x, y, width, height, RGBA) that outline `region` (x0, y0,
    x1, y1, ends excluded) on a panel of (height, width): one pixel of each of
    `OUTLINE_COLOURS`, from the region's edge inwards. The browser draws the same ones."""
    height, width = size
    x0, y0 = max(0, region[0]), max(0, region[1])
    x1, y1 = min(width, region[2]), min(height, region[3])
    rects = []
    for colour in OUTLINE_COLOURS:
        if x0 >= x1 or y0 >= y1:
            break
        w, h = x1 - x0, y1 - y0
        rects += [(x0, y0, w, 1, colour), (x0, y1 - 1, w, 1, colour),
                  (x0, y0, 1, h, colour), (x1 - 1, y0, 1, h, colour)]
        x0, y0, x1, y1 = x0 + 1, y0 + 1, x1 - 1, y1 - 1
    return rects


def outline(panel: np.ndarray, region: tuple[int, int, int, int] | None) -> np.ndarray:
    """A copy of an RGBA `panel` with `region` outlined (`outline_rects`); the panel
    itself when there is no region."""
    if region is None:
        return panel
    drawn = panel.copy()
    for x, y, w, h, colour in outline_rects(region, panel.shape[:2]):
        drawn[y:y + h, x:x + w] = colour
    return drawn
