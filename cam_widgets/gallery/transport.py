"""The only code that talks to ipycanvas: one canvas showing the thumbnail sheet.

Public ipycanvas API only: `put_image_data` with RGBA (sent as lossless PNG) and
`on_mouse_down` for clicks.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ipycanvas import Canvas


class CanvasTransport:
    """Draws RGBA sheets on a canvas and reports clicks in sheet pixels."""

    def __init__(self) -> None:
        self.canvas = Canvas(width=1, height=1)

    @property
    def widget(self) -> Canvas:
        return self.canvas

    def draw(self, rgba: np.ndarray) -> None:
        height, width = rgba.shape[:2]
        if (self.canvas.height, self.canvas.width) != (height, width):
            self.canvas.width, self.canvas.height = width, height
            self.canvas.layout.width, self.canvas.layout.height = f"{width}px", f"{height}px"
        self.canvas.put_image_data(np.ascontiguousarray(rgba, np.uint8), 0, 0)

    def on_click(self, callback: Callable[[float, float], None]) -> None:
        self.canvas.on_mouse_down(callback)
