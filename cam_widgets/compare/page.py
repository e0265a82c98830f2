"""The comparison's page: header, controls and one cell per method (caption, overlay
canvas, colour bar) in a grid. Widgets only: what the cells say and show is decided by
`CamCompare` and drawn by `grid`/`compose`."""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
from traitlets import HasTraits, link

from cam_widgets.viewer.layout import CamView

_CSS = """<style>
.cam-compare { max-width: 100%; box-sizing: border-box; overflow: hidden; }
.cam-compare-cell canvas, .cam-compare-cell img { width: 100% !important;
  height: auto !important; image-rendering: pixelated; }
.cam-compare .widget-html-content { white-space: normal; overflow-wrap: anywhere;
  color: var(--jp-content-font-color1, inherit); line-height: 1.3; }
.cam-compare .widget-label { color: var(--jp-widgets-color, inherit); }
.cam-compare-cell > .jupyter-widgets { margin-left: 0; margin-right: 0; max-width: 100%; }
.cam-compare-cell.cam-widgets-busy canvas { opacity: 0.3; transition: opacity 0.15s; }
</style>"""
BUSY = "cam-widgets-busy"  # a cell whose picture is the previous class's, being replaced

PREDICTED = -1  # the class menu's value for "the predicted class"


def class_options(names: Callable[[int, int], str], count: int,
                  predicted: int | None) -> list[tuple[str, int]]:
    """The class menu's (label, value) pairs: "predicted: <its name>" ("..." while it is
    computed), then each of the `count` classes by name."""
    shown = "..." if predicted is None else names(predicted, count)
    return [(f"predicted: {shown}", PREDICTED)] + [(names(i, count), i) for i in range(count)]


class ComparePage:
    """The widgets of a comparison around each cell's canvas and colour bar (`canvases`,
    `bars`). The opacity, colormap and scale controls are linked to `owner`'s traits of
    those names; the class menu reports to `on_class(index)`
    (PREDICTED for the predicted class); `below` are widgets under the grid."""

    def __init__(self, owner: HasTraits, methods: Sequence[str], canvases: dict[str, Any],
                 bars: dict[str, Any], columns: int, picture: Callable[[], bytes | None],
                 on_class: Callable[[int], None], below: Sequence[Any] = ()) -> None:
        self.header = widgets.HTML()
        self.class_menu = widgets.Dropdown(options=[("predicted", PREDICTED)],
                                           value=PREDICTED, description="class")
        self._filling = False  # the menu is being refilled: its value changes are ours
        self.class_menu.observe(
            lambda change: None if self._filling else on_class(change["new"]), names=["value"])
        opacity = widgets.FloatSlider(min=0.0, max=1.0, step=0.05, description="opacity")
        colormap = widgets.Dropdown(options=["auto", "jet", "viridis", "inferno", "RdBu_r"],
                                    description="colormap")
        scale = widgets.ToggleButtons(options=["map", "shared"], description="scale")
        for control, name in ((opacity, "opacity"), (colormap, "colormap"), (scale, "scale")):
            link((owner, name), (control, "value"))
        self.controls = widgets.HBox([self.class_menu, opacity, colormap, scale],
                                     layout=widgets.Layout(flex_flow="row wrap"))
        self.captions = {m: widgets.HTML() for m in methods}
        cells = [widgets.VBox([self.captions[m], canvases[m], bars[m]],
                              layout=widgets.Layout(min_width="0"))
                 for m in methods]
        for cell in cells:
            cell.add_class("cam-compare-cell")
        self._cells = dict(zip(methods, cells))
        self.cells = widgets.GridBox(cells, layout=widgets.Layout(
            grid_template_columns=f"repeat({columns}, minmax(0, 1fr))",
            grid_gap="6px", width="100%"))
        self.widget = CamView(picture, children=[widgets.HTML(_CSS), self.header,
                                                 self.controls, self.cells, *below])
        self.widget.add_class("cam-compare")

    def classes(self, options: list[tuple[str, int]], value: int) -> None:
        """Fill the class menu with (label, index) pairs and select `value` (the class
        callback is not called)."""
        self._filling = True
        try:
            self.class_menu.options = options
            self.class_menu.value = value
        finally:
            self._filling = False

    def busy(self, method: str, busy: bool) -> None:
        """Dim `method`'s picture while its map for a new class is computed (or not)."""
        cell = self._cells[method]
        if busy:
            cell.add_class(BUSY)
        else:
            cell.remove_class(BUSY)

    def select(self, value: int) -> None:
        """Show `value` in the class menu (a class set from code)."""
        self.class_menu.value = value

    def say(self, lines: Sequence[str]) -> None:
        """The header: one line per item, escaped."""
        self.header.value = "<br>".join(html.escape(line) for line in lines)

    def caption(self, method: str, lines: Sequence[str], best_mark: str) -> None:
        """A cell's caption: its method in bold, then its lines with `best_mark` as a star."""
        text = "<br>".join(html.escape(line) for line in lines[1:]).replace(best_mark, "★")
        self.captions[method].value = f"<b>{html.escape(lines[0])}</b><br>{text}"
