"""The gallery's page: controls, then the grid (or a sentence when no image passes the
filters), its info line and colour bar on the left; the opened image on the right, or
below when the page is too narrow for both (CSS flex wrap, no script of our own). Text
colours come from the Jupyter theme's variables, so dark themes keep their contrast."""
from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from cam_widgets import render
from cam_widgets.gallery import compose

#: the left column is at least this wide (the menus), the opened image at least SIDE_PX:
#: when both do not fit side by side, the image goes below the grid
LEFT_PX, SIDE_PX = 340, 480
_CSS = """<style>
.cam-gallery { box-sizing: border-box; max-width: 100%; }
.cam-gallery-grid canvas, .cam-gallery-left img { max-width: 100% !important;
  height: auto !important; }
.cam-gallery .widget-html-content { white-space: normal; overflow-wrap: anywhere;
  line-height: 1.45; color: var(--jp-content-font-color1, inherit); }
.cam-gallery .widget-label, .cam-gallery select { color: var(--jp-widgets-color, inherit); }
.cam-gallery-empty { padding: 12px 4px; font-style: italic; }
</style>"""


class Page:
    """Builds the page around the controls and the grid's widget; knows no data."""

    def __init__(self, controls: widgets.Widget, grid: widgets.Widget) -> None:
        self.message = widgets.HTML(layout=widgets.Layout(display="none"))
        self.message.add_class("cam-gallery-empty")
        self.grid = widgets.Box([grid], layout=widgets.Layout(max_width="100%"))
        self.grid.add_class("cam-gallery-grid")
        self.info = widgets.HTML()
        self.colour_bar = widgets.Image(format="png")
        self.left = widgets.VBox(
            [widgets.HTML(_CSS), controls, self.message, self.grid, self.info,
             self.colour_bar],
            layout=widgets.Layout(width=f"{LEFT_PX}px", max_width="100%", flex="0 0 auto",
                                  margin="0 16px 8px 0"))
        self.left.add_class("cam-gallery-left")
        self.side = widgets.VBox(layout=widgets.Layout(
            flex=f"1 1 {SIDE_PX}px", min_width="0", max_width="100%", display="none"))
        self.widget = widgets.Box([self.left, self.side], layout=widgets.Layout(
            flex_flow="row wrap", align_items="flex-start", width="100%"))
        self.widget.add_class("cam-gallery")

    def fit(self, sheet_width: int) -> None:
        """The left column as wide as the grid (at least LEFT_PX; the page may shrink it)."""
        self.left.layout.width = f"{max(sheet_width, LEFT_PX)}px"

    def say_empty(self, sentence: str) -> None:
        """Show `sentence` instead of the grid ("" shows the grid again)."""
        self.message.value = sentence
        self.message.layout.display = None if sentence else "none"
        self.grid.layout.display = "none" if sentence else None

    def open(self, parts: tuple[Any, ...]) -> None:
        """Show `parts` (header, picture) beside or under the grid; () closes it."""
        self.side.children = parts
        self.side.layout.display = None if parts else "none"

    def set_colour_bar(self, colormap: str, width: int) -> None:
        self.colour_bar.value = render.encode_png(compose.colour_bar(colormap, width))
