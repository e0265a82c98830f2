"""The pixel transport: the only code that talks to ipycanvas, through its public API.

Three canvases (image | heatmap | overlay). The image and the heatmap reach the browser
as RGBA PNGs that we encode (fast zlib level, lossless), each carried by a fresh
`ipywidgets.Image` that the canvas draws with `draw_image`. The browser draws in its own
time (it decodes each image first), so a replaced image is closed only `RETIRE_SECONDS`
later: a draw command still queued there must find its image. The overlay is composed in
the browser from the two other canvases (image, then heatmap at ``global_alpha =
opacity``), so an opacity change sends two draw commands and no image data.

`RecordingTransport` is the seam tests and benchmarks use: the real transport, with a
log of what was sent (bytes, time, decoded pixels).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas, hold_canvas
from ipywidgets.widgets.trait_types import bytes_serialization
from PIL import Image
from traitlets import Bytes

__all__ = ["PANELS", "MOUSE_EVENTS", "CanvasTransport", "RecordingTransport", "Sent"]

PANELS = ("image", "heatmap", "overlay")
MOUSE_EVENTS = ("down", "move", "up", "out")
Rect = tuple[int, int, int, int, tuple[int, int, int, int]]  # x, y, width, height, RGBA
#: how long a replaced source image stays open for the browser's queued draws
RETIRE_SECONDS = 30.0


class SavedCanvas(Canvas):
    """An ipycanvas Canvas whose browser sends its pixels back (`sync_image_data`), so a
    notebook saved with its widget state draws them again without a kernel. The pixels
    are not echoed back to the browser (they came from it): no image data goes out."""

    image_data = Bytes(default_value=None, allow_none=True, read_only=True).tag(
        sync=True, echo_update=False, **bytes_serialization
    )


class CanvasTransport:
    """Draws on three ipycanvas canvases; forwards their mouse events."""

    def __init__(self) -> None:
        self.canvases = {name: SavedCanvas(width=1, height=1, sync_image_data=True)
                         for name in PANELS}
        # Redraws for a browser that connects later start with a command on this canvas,
        # so that ipycanvas sends a "switch canvas" before drawing on a panel (without one
        # the new page has no current canvas: ipycanvas issue #322). Never placed in the
        # page: its model exists in every browser that shows the view, which is enough.
        self._switcher = Canvas(width=1, height=1)
        self._sources: dict[str, widgets.Image | None] = {"image": None, "heatmap": None}
        self._retired: list[tuple[float, widgets.Image]] = []  # (when replaced, image)
        self._opacity = 0.5
        self._outline: list[Rect] = []
        self.bytes_sent = 0
        self._client_ready: list[Callable[[], None]] = []
        self._mouse: dict[str, list[Callable[[float, float], None]]] = {
            event: [] for event in MOUSE_EVENTS}
        for canvas in self.canvases.values():
            canvas.on_client_ready(self._on_client_ready)

    @property
    def size(self) -> tuple[int, int]:
        first = self.canvases["image"]
        return first.height, first.width

    def shown(self) -> dict[str, bytes]:
        """The PNG each of the image and heatmap canvases was last sent (what a redraw uses):
        RGBA, or for a heatmap a palette PNG of its colormap's 256 colours (lossless too)."""
        return {name: bytes(src.value) for name, src in self._sources.items() if src is not None}

    def resize(self, height: int, width: int) -> None:
        """Give every canvas `height` x `width` pixels (their CSS size is the page's)."""
        for canvas in self.canvases.values():
            canvas.width, canvas.height = int(width), int(height)

    def send(self, image_png: bytes | None, heat_png: bytes | None, opacity: float,
             outline: list[Rect] | None = None) -> None:
        """Draw what changed, in one message: a new image and/or heatmap (PNG bytes, None
        when unchanged), then the overlay at `opacity` with the `outline` rectangles
        filled on it (a region; none by default)."""
        self._outline = list(outline or [])
        with hold_canvas():
            for name, png in (("image", image_png), ("heatmap", heat_png)):
                if png is not None:
                    self._draw_source(name, png)
            self._draw_overlay(opacity)

    def preview(self, outline: list[Rect]) -> None:
        """Redraw the overlay with `outline` instead of the region's (a rectangle being
        dragged); the next `send` or `redraw` draws the region's own outline again."""
        rects, self._outline = self._outline, list(outline)
        try:
            with hold_canvas():
                self._draw_overlay(self._opacity)
        finally:
            self._outline = rects

    def redraw(self) -> None:
        """Draw everything again from what was last sent (no new image data)."""
        with hold_canvas():
            self._switcher.clear()
            for name, source in self._sources.items():
                if source is not None:
                    self.canvases[name].draw_image(source, 0, 0)
            self._draw_overlay(self._opacity)

    def on_client_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback` when a browser (a reload, Voila, a second tab) shows the canvases."""
        self._client_ready.append(callback)

    def on_mouse(self, event: str, callback: Callable[[float, float], None]) -> None:
        """Forward the image panel's mouse `event` ("down", "move", "up", "out") as
        ``callback(x, y)`` in image pixels (for drawing regions on the image)."""
        if event not in MOUSE_EVENTS:
            raise ValueError(f"event must be one of {MOUSE_EVENTS}, got {event!r}")
        if not self._mouse[event]:
            getattr(self.canvases["image"], f"on_mouse_{event}")(
                lambda x, y, event=event: self.mouse(event, x, y))
        self._mouse[event].append(callback)

    def mouse(self, event: str, x: float, y: float) -> None:
        """Deliver a mouse `event` at image pixel (x, y) to its callbacks (what the canvas
        does when the browser reports one)."""
        for callback in self._mouse.get(event, []):
            callback(x, y)

    # ------------------------------------------------------------------ internals
    def _draw_source(self, name: str, png: bytes) -> None:
        source = widgets.Image(value=png, format="png")
        previous, self._sources[name] = self._sources[name], source
        self.bytes_sent += len(png)
        self.canvases[name].draw_image(source, 0, 0)
        now = time.monotonic()
        if previous is not None:
            self._retired.append((now, previous))
        while self._retired and now - self._retired[0][0] > RETIRE_SECONDS:
            self._retired.pop(0)[1].close()

    def _draw_overlay(self, opacity: float) -> None:
        self._opacity = float(opacity)
        overlay = self.canvases["overlay"]
        overlay.global_alpha = 1.0
        overlay.draw_image(self.canvases["image"], 0, 0)
        overlay.global_alpha = self._opacity
        overlay.draw_image(self.canvases["heatmap"], 0, 0)
        overlay.global_alpha = 1.0
        for x, y, width, height, colour in self._outline:
            overlay.fill_style = "rgba({}, {}, {}, {})".format(*colour[:3], colour[3] / 255)
            overlay.fill_rect(x, y, width, height)

    def _on_client_ready(self) -> None:
        for callback in self._client_ready:
            callback()


@dataclass
class Sent:
    """One `send` or `redraw`: when, how many PNG bytes, and the images it carried."""

    time: float
    image: bytes | None
    heatmap: bytes | None
    opacity: float
    redraw: bool = False
    outline: list[Rect] = field(default_factory=list)
    pixels: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return len(self.image or b"") + len(self.heatmap or b"")

    def decoded(self, name: str) -> np.ndarray:
        """The RGBA pixels of the image or heatmap PNG this message carried."""
        png = self.image if name == "image" else self.heatmap
        if png is None:
            raise KeyError(f"this message carried no {name}")
        if name not in self.pixels:
            with Image.open(io.BytesIO(png)) as decoded:
                if decoded.format != "PNG" or decoded.mode not in ("RGBA", "P"):
                    raise AssertionError(f"{name} sent as {decoded.format} {decoded.mode}")
                self.pixels[name] = np.asarray(decoded.convert("RGBA"))
        return self.pixels[name]


class RecordingTransport(CanvasTransport):
    """The real transport, logging every message (for tests and benchmarks)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[Sent] = []
        self.previews: list[list[Rect]] = []  # the outlines of rectangles being dragged

    def preview(self, outline: list[Rect]) -> None:
        super().preview(outline)
        self.previews.append(list(outline))

    def send(self, image_png: bytes | None, heat_png: bytes | None, opacity: float,
             outline: list[Rect] | None = None) -> None:
        super().send(image_png, heat_png, opacity, outline)
        self.log.append(Sent(time.perf_counter(), image_png, heat_png, float(opacity),
                             outline=list(outline or [])))

    def redraw(self) -> None:
        super().redraw()
        self.log.append(Sent(time.perf_counter(), None, None, self._opacity, redraw=True,
                             outline=list(self._outline)))
