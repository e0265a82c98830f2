"""Keeps the canvases showing the current explanation, sending only what changed: the
image once per image, the heatmap once per (map, colours), the overlay's opacity as a
number. The Python side keeps the same arrays (what `snapshot()` and tests read)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cam_widgets import render
from cam_widgets.viewer import compose
from cam_widgets.viewer.transport import CanvasTransport

_BLANK_GREY = 238  # the image panel while there is no image
_NO_MAP_GREY = 128  # the heatmap panel while there is no map


@dataclass(frozen=True)
class Frame:
    """What the canvases show: the two panels sent as PNG, and the overlay's opacity."""

    image: np.ndarray  # (h, w, 4) uint8
    heat: np.ndarray  # (h, w, 4) uint8
    opacity: float
    colours: compose.ColourScale | None  # None when no map is shown

    @property
    def overlay(self) -> np.ndarray:
        return compose.blend_overlay(self.image, self.heat, self.opacity)

    def panels(self) -> np.ndarray:
        """image | heatmap | overlay, side by side (H, 3W, 4)."""
        return render.side_by_side(self.image, self.heat, self.overlay)


def blank(height: int, width: int, grey: int) -> np.ndarray:
    panel = np.full((height, width, 4), grey, np.uint8)
    panel[..., 3] = 255
    return panel


class Painter:
    """Sends frames through a transport, each panel only when it changed."""

    def __init__(self, transport: CanvasTransport) -> None:
        self.transport = transport
        self.frame: Frame | None = None
        self._heat_key: tuple | None = None

    def paint(
        self,
        image: np.ndarray | None,
        values: np.ndarray | None,
        colours: compose.ColourScale | None,
        opacity: float,
        heat_key: tuple | None = None,
    ) -> Frame:
        """Show `image` (None: a grey panel) with `values` drawn in `colours` (None: no
        map). `heat_key` identifies the map (same key, same colours: not sent again)."""
        previous = self.frame
        if image is None:
            height, width = previous.image.shape[:2] if previous else (64, 64)
            image = blank(height, width, _BLANK_GREY)
        height, width = image.shape[:2]
        resized = self.transport.size != (height, width)
        if resized:
            self.transport.resize(height, width)
        key = None if values is None else (heat_key, colours)
        if values is None or colours is None:
            heat = blank(height, width, _NO_MAP_GREY)
        elif previous is not None and key == self._heat_key and not resized:
            heat = previous.heat
        else:
            heat = compose.heatmap(values, colours)
        if values is None or colours is None:
            opacity = 0.0  # no map: the overlay shows the image alone
        new_image = resized or previous is None or previous.image is not image
        new_heat = resized or previous is None or previous.heat is not heat
        self.frame = Frame(image, heat, float(opacity), colours)
        self._heat_key = key
        self.transport.send(
            render.encode_png(image, render.FAST_PNG_LEVEL) if new_image else None,
            render.encode_png(heat, render.FAST_PNG_LEVEL) if new_heat else None,
            opacity,
        )
        return self.frame

    def set_opacity(self, opacity: float) -> None:
        """Redraw the overlay at another opacity (no image data)."""
        if self.frame is None or self.frame.colours is None:
            return
        self.frame = Frame(self.frame.image, self.frame.heat, float(opacity), self.frame.colours)
        self.transport.send(None, None, opacity)
