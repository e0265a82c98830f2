"""The view as pictures: the colour bar under the heatmap, the captioned figure
(`snapshot()`), and the copies of it that leave the kernel: the saved notebook's PNG and
the download link, refreshed once the view has been quiet for a moment (so a slider
drag sends no figure per step)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from cam_widgets import render
from cam_widgets.viewer import compose, strips
from cam_widgets.viewer.layout import FADED, Layout
from cam_widgets.viewer.painter import Painter

SAVE_AFTER = 0.6  # seconds of quiet before the saved picture and download link refresh


class Pictures:
    """Pictures of one viewer: the painter's frame, with `colours()` (the shown map's
    colour scale, None without a map) and `captions()` (the figure's lines), placed in
    `layout`; `settle()` brings the view up to date before a picture leaves."""

    def __init__(self, layout: Layout, painter: Painter,
                 colours: Callable[[], compose.ColourScale | None],
                 captions: Callable[[], list[str]], settle: Callable[[], None],
                 extras: Callable[[int], list[np.ndarray]] = lambda width: [],
                 name: Callable[[], str] = lambda: "cam_view.png") -> None:
        self.layout, self.painter = layout, painter
        self._name = name  # the download's file name (`Words.file_name`)
        self._extras = extras  # (width) -> the strips shown under the panels
        self._colours, self._captions, self._settle = colours, captions, settle
        self._timer: asyncio.TimerHandle | None = None

    def show_colour_bar(self) -> None:
        """Draw the colour bar of the shown map under the heatmap. Without a map (an
        error) the bar keeps its last picture, faded (an empty image would be a
        broken-image icon), and before the first map it is hidden."""
        layout, colours = self.layout, self._colours()
        bar = layout.colour_bar
        if colours is None or self.painter.frame is None:
            bar.layout.visibility = None if bar.value else "hidden"
            bar.add_class(FADED)  # its value labels stay as they were
            return
        bar.layout.visibility = None
        bar.remove_class(FADED)
        # the ramp as a picture; its values as text on the page's own background and colour
        layout.colour_bar.value = render.encode_png(
            compose.colour_bar(colours, layout.panel_px, labels=False))
        layout.set_bar_labels(compose.bar_labels(colours))

    def figure(self, scale: int = 1) -> np.ndarray:
        """The captioned figure of what is drawn now (`CamViewer.snapshot`), `scale`
        times as large."""
        frame = self.painter.frame
        if frame is None:
            raise RuntimeError("nothing is drawn yet: call show(image) first")
        picture = compose.figure(frame.image, frame.heat, frame.overlay, self._captions(),
                                 self._colours(), scale=scale)
        for extra in self._extras(picture.shape[1]):
            picture = strips.below(picture, extra)
        return picture

    def png(self, scale: int = 1) -> bytes | None:
        """The current figure as a PNG (None before the first picture)."""
        self.flush()
        try:
            return render.encode_png(self.figure(scale))
        except RuntimeError:
            return None

    def schedule(self) -> None:
        """Refresh the saved picture after a quiet moment (scripts: at `flush()`)."""
        if self._timer is not None:
            self._timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._timer = None
            return
        self._timer = loop.call_later(SAVE_AFTER, self.refresh)

    def refresh(self) -> None:
        """Point the download link and the saved notebook's picture at the current view."""
        self._timer = None
        png = self.png()
        self.layout.set_download(png, self._name(), self.png(2) if png else None)
        self.layout.widget.update_saved_picture(png)

    def flush(self) -> None:
        """The view up to date, and a pending refresh of the saved picture, now."""
        self._settle()
        if self._timer is not None:
            self._timer.cancel()
            self.refresh()

