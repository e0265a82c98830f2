"""Gallery pixels: overlay thumbnails laid out on a sheet, and a colour bar (pure arrays).

The colours come from the viewer's own compose module (colour scale, heatmap, overlay
blend, colour bar), so a thumbnail is the viewer's overlay at a smaller size. Stored maps
are already in [0, 1], so they are drawn on the fixed scale 0..1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from cam_widgets import render
from cam_widgets.viewer import compose as viewer_compose

CORRECT = (46, 160, 67)  # border of a correctly classified image
WRONG = (215, 48, 39)  # border of a misclassified one
NEUTRAL = (200, 200, 200)  # no label known
SELECTED = (20, 20, 20)


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
class Layout:
    """Where cell i sits on the sheet: a grid of `columns`, square cells of `cell` px."""

    columns: int
    cell: int  # thumbnail side
    border: int = 3
    gap: int = 4

    @property
    def pitch(self) -> int:
        return self.cell + 2 * self.border + self.gap

    def size(self, count: int) -> tuple[int, int]:
        """(height, width) of a sheet with `count` cells."""
        rows = max(1, -(-count // self.columns))
        return rows * self.pitch + self.gap, self.columns * self.pitch + self.gap

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left (y, x) of cell `index`'s border."""
        row, col = divmod(index, self.columns)
        return self.gap + row * self.pitch, self.gap + col * self.pitch

    def cell_at(self, x: float, y: float, count: int) -> int | None:
        """The cell under the point (x, y) in sheet pixels, or None between cells."""
        col, dx = divmod(int(x) - self.gap, self.pitch)
        row, dy = divmod(int(y) - self.gap, self.pitch)
        inside = 0 <= col < self.columns and row >= 0 and dx < self.pitch - self.gap \
            and dy < self.pitch - self.gap
        index = row * self.columns + col
        return index if inside and index < count else None


def sheet(thumbnails: list[np.ndarray], borders: list[tuple[int, int, int]],
          layout: Layout) -> np.ndarray:
    """All thumbnails on one white RGBA sheet, each framed in its border colour."""
    height, width = layout.size(len(thumbnails))
    out = np.full((height, width, 4), 255, np.uint8)
    b, c = layout.border, layout.cell
    for index, (thumb, colour) in enumerate(zip(thumbnails, borders)):
        y, x = layout.origin(index)
        out[y:y + c + 2 * b, x:x + c + 2 * b, :3] = colour
        out[y + b:y + b + c, x + b:x + b + c] = thumb
    return out


def colour_bar(colormap: str, width: int) -> np.ndarray:
    """The viewer's labelled colour bar for values 0 (left) to 1 (right)."""
    return viewer_compose.colour_bar(unit_scale(colormap), width)
