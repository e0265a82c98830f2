"""Each comparison cell's picture: its overlay canvas, drawn by a viewer `Painter` (the
image once, a map once per colours as colour indices, opacity as a number), and its
colour bar, sent again only when its colour scale changes."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import ipywidgets as widgets
import numpy as np

from cam_widgets import render
from cam_widgets.compare import grid
from cam_widgets.compare.cells import CellMap
from cam_widgets.viewer import compose
from cam_widgets.viewer.painter import Painter
from cam_widgets.viewer.transport import CanvasTransport

BAR_WIDTH = 192  # pixels of a cell's colour bar


class CellCanvases:
    """The canvases and colour bars of the cells, one per method."""

    def __init__(self, methods: Sequence[str], transport_class: type[CanvasTransport]) -> None:
        self.transports = {m: transport_class() for m in methods}
        self.painters = {m: Painter(t) for m, t in self.transports.items()}
        self.bars = {m: widgets.Image(format="png") for m in methods}
        self._scales: dict[str, compose.ColourScale | None] = {}  # what each bar shows
        self._image: np.ndarray | None = None

    @property
    def overlays(self) -> dict[str, widgets.DOMWidget]:
        """The canvas each cell shows (the overlay)."""
        return {m: t.canvases["overlay"] for m, t in self.transports.items()}

    def show_image(self, image: np.ndarray) -> None:
        """Every cell shows `image` (RGBA uint8) alone, encoded once for all."""
        self._image = image
        image_png = render.encode_png(image, render.FAST_PNG_LEVEL)
        for painter in self.painters.values():
            painter.paint(image, None, None, 0.0, image_png=image_png)

    def draw(self, method: str, cell: CellMap | None, key: tuple, colormap: str, scale: str,
             opacity: float) -> None:
        """Show `cell`'s map over the image (`key` names the map: the same key and colours
        are not sent again), or the image alone while it has none."""
        painter, scales = self.painters[method], None
        if cell is not None:
            scales = grid.colours(cell, colormap, scale)
            painter.paint(self._image, grid.signed_values(cell), scales, opacity, heat_key=key)
        elif painter.frame is not None and painter.frame.opacity > 0:
            painter.set_opacity(0.0)  # the image alone: no data sent
        if scales != self._scales.get(method):
            self._scales[method] = scales
            self.bars[method].value = b"" if scales is None else render.encode_png(
                compose.colour_bar(scales, BAR_WIDTH), render.FAST_PNG_LEVEL)

    def set_opacity(self, methods: Iterable[str], opacity: float) -> None:
        """Redraw the overlays of `methods` at `opacity` (no image data)."""
        for method in methods:
            self.painters[method].set_opacity(opacity)
