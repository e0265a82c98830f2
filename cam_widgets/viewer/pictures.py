"""The view as pictures: the colour bar under the heatmap, the captioned figure
(`snapshot()`), and the copies of it that leave the kernel: the saved notebook's PNG and
the download link, refreshed once the view has been quiet for a moment (so a slider
drag sends no figure per step)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from cam_widgets import render
from cam_widgets.viewer import compose

SAVE_AFTER = 0.6  # seconds of quiet before the saved picture and download link refresh


class Pictures:
    """Pictures of one viewer (reads the wiring's painter, session, words and layout)."""

    def __init__(self, wiring: Any) -> None:
        self.wiring = wiring
        self._timer: asyncio.TimerHandle | None = None

    def _colours(self) -> compose.ColourScale | None:
        session = self.wiring.session
        return session.bar_colours if session.shown is not None else None

    def show_colour_bar(self) -> None:
        """Draw the colour bar of the shown map under the heatmap (empty when none)."""
        layout, colours = self.wiring.layout, self._colours()
        if colours is None or self.wiring.painter.frame is None:
            layout.colour_bar.value = b""
            return
        width = layout.panel_px
        layout.colour_bar.value = render.encode_png(
            compose.colour_bar(colours, width, font_size=max(11, width // 18)))

    def figure(self) -> np.ndarray:
        frame = self.wiring.painter.frame
        if frame is None:
            raise RuntimeError("nothing is drawn yet: call show(image) first")
        return compose.figure(frame.image, frame.heat, frame.overlay,
                              self.wiring.words.figure_captions(), self._colours())

    def png(self) -> bytes | None:
        """The current figure as a PNG (None before the first picture)."""
        try:
            return render.encode_png(self.wiring.viewer.snapshot())
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
        layout = self.wiring.layout
        png = self.png()
        layout.set_download(png, "cam_view.png")
        layout.widget.update_saved_picture(png)

    def flush(self) -> None:
        """A pending refresh, now."""
        if self._timer is not None:
            self._timer.cancel()
            self.refresh()
