"""Gallery pixels: overlay thumbnails laid out on a sheet with their captions, and a
colour bar (pure arrays).

The colours come from the viewer's own compose module (colour scale, heatmap, overlay
blend, colour bar), so a thumbnail is the viewer's overlay at a smaller size. Stored maps
are already in [0, 1], so they are drawn on the fixed scale 0..1.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cam_widgets import render
from cam_widgets.viewer import compose as viewer_compose

CORRECT = (46, 160, 67)  # border of a correctly classified image
WRONG = (215, 48, 39)  # border of a misclassified one
NEUTRAL = (200, 200, 200)  # no label known
SELECTED = (20, 20, 20)
TEXT = (20, 20, 20)
FONT_PX = 10  # caption text; a caption line is FONT_PX + 3 px high
LINE_PX = FONT_PX + 3


def unit_scale(colormap: str) -> viewer_compose.ColourScale:
    """Map values 0..1 onto the colormap ("auto": the viewer's choice for maps >= 0)."""
    return viewer_compose.ColourScale(viewer_compose.colourmap_name(colormap, signed=False),
                                      0.0, 1.0, signed=False)


def thumbnail(image: np.ndarray, attribution: np.ndarray, size: int, opacity: float,
              colormap: str) -> np.ndarray:
    """(size, size, 4) uint8: the image with its map blended on top, as in the viewer."""
    rgb = render.to_rgb8(image)
    base = np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR))
    heat = viewer_compose.heatmap(render.resize(attribution, (size, size)), unit_scale(colormap))
    return viewer_compose.blend_overlay(render.to_rgba8(base), heat, opacity)


@dataclass(frozen=True)
class Caption:
    """What is written under a thumbnail: text lines and a right/wrong mark (or None)."""

    lines: tuple[str, ...]
    mark: str | None = None  # "right", "wrong" or None (unknown)


@dataclass(frozen=True)
class Layout:
    """Where cell i sits on the sheet: a grid of `columns`, square cells of `cell` px with
    `caption` px of text under each (0: no captions)."""

    columns: int
    cell: int  # thumbnail side
    border: int = 3
    gap: int = 4
    caption: int = 0

    @property
    def pitch(self) -> int:
        """Horizontal distance between cells."""
        return self.cell + 2 * self.border + self.gap

    @property
    def row_pitch(self) -> int:
        """Vertical distance between cells (the caption included)."""
        return self.pitch + self.caption

    def size(self, count: int) -> tuple[int, int]:
        """(height, width) of a sheet with `count` cells."""
        rows = max(1, -(-count // self.columns))
        return rows * self.row_pitch + self.gap, self.columns * self.pitch + self.gap

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left (y, x) of cell `index`'s border."""
        row, col = divmod(index, self.columns)
        return self.gap + row * self.row_pitch, self.gap + col * self.pitch

    def cell_at(self, x: float, y: float, count: int) -> int | None:
        """The cell (thumbnail or its caption) under the point (x, y) in sheet pixels, or
        None between cells."""
        col, dx = divmod(int(x) - self.gap, self.pitch)
        row, dy = divmod(int(y) - self.gap, self.row_pitch)
        inside = 0 <= col < self.columns and row >= 0 and dx < self.pitch - self.gap \
            and dy < self.row_pitch - self.gap
        index = row * self.columns + col
        return index if inside and index < count else None


def caption_height(lines: int) -> int:
    """Pixels a caption of `lines` text lines takes under a thumbnail."""
    return lines * LINE_PX + 2 if lines else 0


def sheet(thumbnails: list[np.ndarray], borders: list[tuple[int, int, int]],
          layout: Layout, captions: list[Caption] | None = None) -> np.ndarray:
    """All thumbnails on one white RGBA sheet, each framed in its border colour, with its
    caption written under it when the layout leaves room for one."""
    height, width = layout.size(len(thumbnails))
    out = np.full((height, width, 4), 255, np.uint8)
    b, c = layout.border, layout.cell
    for index, (thumb, colour) in enumerate(zip(thumbnails, borders)):
        y, x = layout.origin(index)
        out[y:y + c + 2 * b, x:x + c + 2 * b, :3] = colour
        out[y + b:y + b + c, x + b:x + b + c] = thumb
    if captions and layout.caption:
        page = Image.fromarray(out, mode="RGBA")
        draw = ImageDraw.Draw(page)
        for index, caption in enumerate(captions):
            y, x = layout.origin(index)
            write(draw, caption, x, y + c + 2 * b + 1, c + 2 * b)
        out = np.asarray(page)
    return out


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def fit(draw: ImageDraw.ImageDraw, text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` pixels in the caption font."""
    font = _font(FONT_PX)
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…" if text else ""


def write(draw: ImageDraw.ImageDraw, caption: Caption, x: int, y: int, width: int) -> None:
    """The caption's lines from (x, y) down, the mark (a green tick or a red cross, drawn:
    the built-in font has no such glyphs) at the right of the last line."""
    font = _font(FONT_PX)
    mark = LINE_PX - 4 if caption.mark else 0
    for number, line in enumerate(caption.lines):
        room = width - (mark + 3 if number == len(caption.lines) - 1 else 0)
        draw.text((x, y + number * LINE_PX), fit(draw, line, room), fill=TEXT, font=font)
    if caption.mark:
        top = y + (len(caption.lines) - 1) * LINE_PX + 2
        left = x + width - mark - 1
        if caption.mark == "right":
            draw.line([(left, top + mark // 2), (left + mark // 3, top + mark),
                       (left + mark, top)], fill=CORRECT, width=2)
        else:
            draw.line([(left, top), (left + mark, top + mark)], fill=WRONG, width=2)
            draw.line([(left, top + mark), (left + mark, top)], fill=WRONG, width=2)


def colour_bar(colormap: str, width: int) -> np.ndarray:
    """The viewer's labelled colour bar for values 0 (left) to 1 (right)."""
    return viewer_compose.colour_bar(unit_scale(colormap), width)
