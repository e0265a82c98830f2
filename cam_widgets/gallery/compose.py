"""Gallery pixels: overlay thumbnails laid out on a sheet, and a colour bar (pure numpy).

Built from `cam_widgets.render` (Pillow resizing, matplotlib colormaps, the viewer's
blend), so a thumbnail is the viewer's overlay at a smaller size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from cam_widgets import render

CORRECT = (46, 160, 67)  # border of a correctly classified image
WRONG = (215, 48, 39)  # border of a misclassified one
NEUTRAL = (200, 200, 200)  # no label known
SELECTED = (20, 20, 20)


def thumbnail(image: np.ndarray, attribution: np.ndarray, size: int, opacity: float,
              colormap: str) -> np.ndarray:
    """(size, size, 4) uint8: the image with its map blended on top, as in the viewer."""
    rgb = render.to_rgb8(image)
    base = np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR))
    heat = render.colorize(np.clip(render.resize(attribution, (size, size)), 0.0, 1.0), colormap)
    return render.blend(render.to_rgba8(base), heat, opacity)


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


def colour_bar(colormap: str, width: int, height: int = 10) -> np.ndarray:
    """(height, width, 4) uint8: the colormap from 0 (left) to 1 (right)."""
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    return render.colorize(ramp, colormap)
