"""Keeps the canvases showing the current explanation, sending only what changed: the
image once per image, the heatmap once per (map, colours), the overlay's opacity as a
number, a region's outline as a few rectangles. The Python side keeps the same arrays
(what `snapshot()` and tests read)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cam_widgets import render
from cam_widgets.viewer import compose
from cam_widgets.viewer.transport import CanvasTransport

_BLANK_GREY = 238  # the image panel while there is no image
_NO_MAP_GREY = 128  # the heatmap panel while there is no map


class Frame:
    """What the canvases show: the image, the heatmap (as colour indices and a colormap,
    turned into RGBA only when asked), the overlay's opacity and the explained region
    outlined on the overlay (None: no region)."""

    def __init__(self, image: np.ndarray, heat: np.ndarray | tuple[np.ndarray, str],
                 opacity: float, colours: compose.ColourScale | None,
                 region: tuple[int, int, int, int] | None = None) -> None:
        self.image, self.opacity, self.colours = image, float(opacity), colours
        self._heat = heat  # (h, w, 4) RGBA, or (indices, colormap)
        self.region = region

    def with_opacity(self, opacity: float) -> Frame:
        return Frame(self.image, self._heat, opacity, self.colours, self.region)

    @property
    def heat(self) -> np.ndarray:
        """The heatmap panel, (h, w, 4) uint8."""
        if isinstance(self._heat, tuple):
            indices, colormap = self._heat
            self._heat = compose.palette(colormap)[indices]
        return self._heat

    @property
    def overlay(self) -> np.ndarray:
        return compose.outline(compose.blend_overlay(self.image, self.heat, self.opacity),
                               self.region)

    def outline_rects(self) -> list:
        """The rectangles the browser fills on the overlay to outline the region."""
        if self.region is None:
            return []
        return compose.outline_rects(self.region, self.image.shape[:2])

    def panels(self) -> np.ndarray:
        """image | heatmap | overlay, side by side (H, 3W, 4)."""
        return render.side_by_side(self.image, self.heat, self.overlay)


def blank(height: int, width: int, grey: int) -> np.ndarray:
    panel = np.full((height, width, 4), grey, np.uint8)
    panel[..., 3] = 255
    return panel


@lru_cache(maxsize=4)
def _blank_png(height: int, width: int) -> bytes:
    """The heatmap panel while there is no map, encoded once per size."""
    return render.encode_png(blank(height, width, _NO_MAP_GREY), render.FAST_PNG_LEVEL)


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
        region: tuple[int, int, int, int] | None = None,
        image_png: bytes | None = None,
    ) -> Frame:
        """Show `image` (None: a grey panel) with `values` drawn in `colours` (None: no
        map) and `region` outlined on the overlay. `heat_key` identifies the map (same
        key, same colours: not sent again); `image_png` is the image already encoded
        (several painters showing one image encode it once)."""
        previous = self.frame
        if image is None:
            height, width = previous.image.shape[:2] if previous else (64, 64)
            image = blank(height, width, _BLANK_GREY)
        height, width = image.shape[:2]
        resized = self.transport.size != (height, width)
        if resized:
            self.transport.resize(height, width)
        key = None if values is None else (heat_key, colours)
        new_image = resized or previous is None or previous.image is not image
        heat_png = None
        if values is None or colours is None:
            opacity, region = 0.0, None  # no map: the overlay shows the image alone
            heat = blank(height, width, _NO_MAP_GREY)
            heat_png = _blank_png(height, width)
        elif previous is not None and key == self._heat_key and not resized:
            heat = previous._heat
        else:
            indices = compose.heat_indices(values, colours)
            heat = (indices, colours.colormap)
            heat_png = render.encode_indexed_png(indices, compose.palette(colours.colormap),
                                                 render.FAST_PNG_LEVEL)
        self.frame = Frame(image, heat, opacity, colours, region)
        self._heat_key = key
        self.transport.send(
            (image_png or render.encode_png(image, render.FAST_PNG_LEVEL)) if new_image
            else None,
            heat_png, opacity, self.frame.outline_rects())
        return self.frame

    def set_opacity(self, opacity: float) -> None:
        """Redraw the overlay at another opacity (no image data)."""
        if self.frame is None or self.frame.colours is None:
            return
        self.frame = self.frame.with_opacity(opacity)
        self.transport.send(None, None, opacity, self.frame.outline_rects())
