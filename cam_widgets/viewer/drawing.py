"""Drawing a region on the image panel of a segmentation model's viewer.

A drag on the image (the transport's mouse events, in shown pixels) sets the viewer's
`region` trait, exactly as setting it from code does; a click without a drag, or the
"whole predicted region" button, sets it back to None (the class's predicted pixels).
While the mouse moves, the rectangle is previewed on the overlay (browser only).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from cam_widgets.viewer.compose import outline_rects
from cam_widgets.viewer.regions import from_drag
from cam_widgets.viewer.transport import CanvasTransport

HINT = "<small>drag on the image: explain a rectangle only</small>"


class RegionDrawing:
    """Turns mouse drags on the image panel into the viewer's `region` setting."""

    def __init__(self, viewer: Any, transport: CanvasTransport, shown_size: Any,
                 shown_outline: Any, enabled: bool) -> None:
        self.viewer, self.transport = viewer, transport
        self._shown_size = shown_size  # () -> (h, w) of the shown image, or None
        self._shown_outline = shown_outline  # () -> the shown region's outline rectangles
        self._start: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None
        self.clear_button = widgets.Button(description="whole predicted region",
                                           tooltip="explain the class over every pixel "
                                                   "predicted as it (region = None; a "
                                                   "click on the image does the same)",
                                           layout=widgets.Layout(width="auto"))
        self.clear_button.on_click(lambda _: self.clear())
        self.box = widgets.HBox([widgets.HTML(HINT, layout=widgets.Layout(margin="0 8px 0 0")),
                                 self.clear_button], layout=widgets.Layout(
            flex_flow="row wrap", align_items="center",
            display=None if enabled else "none"))
        if enabled:  # a classifier's image panel takes no drawing: nothing is listened to
            transport.on_mouse("down", self._down)
            transport.on_mouse("move", self._move)
            transport.on_mouse("up", self._up)
            transport.on_mouse("out", self._up_at_last)

    def clear(self) -> None:
        self.viewer.region = None

    def _down(self, x: float, y: float) -> None:
        self._start = self._last = (x, y)

    def _move(self, x: float, y: float) -> None:
        shown = self._shown_size()
        if self._start is None or shown is None or self.clear_button.disabled:
            return
        self._last = (x, y)
        region = from_drag(self._start, (x, y), shown)
        self.transport.preview(self._shown_outline() if region is None
                               else outline_rects(region, shown))

    def _up_at_last(self, x: float, y: float) -> None:
        """The pointer left the image mid-drag: the drag ends where it was last seen."""
        if self._start is not None and self._last is not None:
            self._up(*self._last)

    def _up(self, x: float, y: float) -> None:
        start, self._start = self._start, None
        shown = self._shown_size()
        if start is None or shown is None or self.clear_button.disabled:
            return
        region = from_drag(start, (x, y), shown)
        if region == self.viewer.region:  # nothing to recompute: take the preview away
            self.transport.preview(self._shown_outline())
        self.viewer.region = region

    def refresh(self, target: Any) -> None:
        """No region for a callable target (it names its own score)."""
        self.clear_button.disabled = callable(target)
