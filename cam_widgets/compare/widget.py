"""CamCompare: one image under several attribution methods, side by side, with the numbers
that say which map is faithful. Settings are traitlets (set from code or by a control).

Reuses the viewer's parts: `compose` draws (through `compare.grid`), `LatestWins` runs one
kernel call at a time (one cell's map or numbers per job, cheapest methods first, stale
results of an older class dropped), and each cell is a `CanvasTransport` whose overlay
canvas is shown (an opacity change sends draw commands only)."""
from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from traitlets import Any as AnyTrait
from traitlets import Float, HasTraits, Unicode, link, validate

from cam_widgets import render
from cam_widgets.compare import grid
from cam_widgets.compare.cells import (
    DEFAULT_METHODS, CellMap, CellNumbers, CellSource, cost_order)
from cam_widgets.kernel.methods import method_names
from cam_widgets.kernel.targets import class_count
from cam_widgets.viewer import checks, compose
from cam_widgets.viewer.facade import SettingError
from cam_widgets.viewer.layout import CamView
from cam_widgets.viewer.scheduler import KERNEL_LOCK, LatestWins
from cam_widgets.viewer.transport import CanvasTransport
from cam_widgets.viewer.words import ClassNames

__all__ = ["CamCompare"]

_CSS = """<style>
.cam-compare { max-width: 100%; box-sizing: border-box; overflow: hidden; }
.cam-compare canvas, .cam-compare img { width: 100% !important; height: auto !important;
  image-rendering: pixelated; }
.cam-compare .widget-html-content { white-space: normal; overflow-wrap: anywhere;
  color: var(--jp-content-font-color1, inherit); line-height: 1.3; }
.cam-compare .widget-label { color: var(--jp-widgets-color, inherit); }
.cam-compare-cell > .jupyter-widgets { margin-left: 0; margin-right: 0; max-width: 100%; }
</style>"""


class CamCompare(HasTraits):
    """The same image under several methods: a grid of overlays, one class picker.

    Each cell shows its method, its colour bar, its deletion AUC (lower is better) and
    insertion AUC (higher is better), and with `boxes` (one (y0, x0, y1, x1) box per
    image, in pixels) the pointing game; the best value of each column is starred.
    `target` (None: the predicted class), `opacity`, `colormap` and `scale` ("map": each
    map stretched to its own range; "shared": the kernel's [0, 1]) are traits.
    """

    transport_class: type[CanvasTransport] = CanvasTransport  # tests swap in a recorder
    target = AnyTrait(None, allow_none=True)
    opacity = Float(0.5)
    colormap = Unicode("auto")
    scale = Unicode("map")

    def __init__(self, model: Any, methods: Sequence[str] = DEFAULT_METHODS,
                 class_names: Sequence[str] | Mapping[int, str] | Callable[..., Any] | None
                 = None, preprocess: Callable[[np.ndarray], Any] | None = None,
                 layer: Any = None, *, boxes: Any = None, columns: int = 3) -> None:
        super().__init__()
        known = method_names()
        unknown = [m for m in methods if m not in known]
        if unknown or not methods:
            raise ValueError(f"methods must be a non-empty list of method names from "
                             f"{sorted(known)}; unknown: {unknown}.")
        self.model, self.preprocess, self.layer = model, preprocess, layer
        self.methods = tuple(methods)
        self.class_names = ClassNames(class_names)
        self.n_classes = class_count(model)
        self.boxes = None if boxes is None else np.asarray(boxes, np.int64).reshape(-1, 4)
        self.columns = int(columns)
        self.transports = {m: self.transport_class() for m in self.methods}
        self.maps: dict[str, CellMap] = {}
        self.numbers: dict[str, CellNumbers] = {}
        self.errors: dict[str, str] = {}
        self._pending: list[tuple[str, str]] = []
        self._generation = 0
        self._source: CellSource | None = None
        self._image: np.ndarray | None = None
        self._predicted = -1
        self.scheduler = LatestWins(self._prepare, self._finish, lambda busy: None)
        self._build_page()
        self.observe(self._on_target, names=["target"])
        self.observe(self._on_colours, names=["colormap", "scale"])
        self.observe(self._on_opacity, names=["opacity"])

    @validate("colormap", "scale", "opacity", "target")
    def _check(self, proposal: dict[str, Any]) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        try:
            value = getattr(checks, name)(value)
        except (TypeError, ValueError) as e:
            raise SettingError(str(e)) from None
        if name == "target" and value is not None and self.n_classes is not None and not (
                isinstance(value, (int, np.integer)) and 0 <= value < self.n_classes):
            raise SettingError(f"target must be None (the predicted class) or a class index "
                             f"0..{self.n_classes - 1}; got {value!r}.")
        return value

    # ------------------------------------------------------------------ public API
    def show(self, image: Any) -> CamView:
        """Compare the methods on one image (H, W, C) (or a batch of one); returns the widget."""
        raw = np.asarray(render.load_image(image) if not hasattr(image, "shape") else image)
        if raw.ndim == 4:
            if len(raw) != 1:
                raise ValueError(f"CamCompare shows one image; got a batch of {len(raw)}.")
            raw = raw[0]
        if raw.ndim != 3:
            raise ValueError(f"image must be (height, width, channels); got {raw.shape}.")
        inputs = np.asarray(raw[None] if self.preprocess is None
                            else self.preprocess(raw[None]), np.float32)
        box = None if self.boxes is None else self.boxes[0]
        self._source = CellSource(self.model, inputs, self.layer, box)
        self._image = render.to_rgba8(render.to_rgb8(raw))
        with KERNEL_LOCK:
            self._predicted = self._source.predicted()
        image_png = render.encode_png(self._image)
        for transport in self.transports.values():
            transport.resize(*self._image.shape[:2])
            transport.send(image_png, None, self.opacity)
        self._fill_classes()
        self._restart()
        self.scheduler.flush()
        return self.widget

    def flush(self) -> None:
        """Compute every pending cell now and draw it."""
        self.scheduler.flush()

    async def wait(self, timeout: float = 120.0) -> None:
        """In a running event loop: wait until every cell is computed."""
        await self.scheduler.wait(timeout)

    def snapshot(self) -> np.ndarray:
        """The whole captioned grid, uint8 RGBA (what `save` writes and the saved notebook
        shows)."""
        self.flush()
        if self._image is None:
            raise RuntimeError("nothing is shown yet: call show(image) first")
        return self._quick()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `snapshot()` to `path` as a PNG."""
        with open(path, "wb") as f:
            f.write(render.encode_png(self.snapshot()))

    @property
    def explained_class(self) -> int:
        """The class the cells explain now."""
        return self._predicted if self.target is None else int(self.target)

    # ------------------------------------------------------------------ scheduling
    def _restart(self) -> None:
        """Every cell again for the current class: maps cheapest first, then numbers."""
        self._generation += 1
        self.maps.clear()
        self.numbers.clear()
        self.errors.clear()
        order = cost_order(self.methods)
        self._pending = [("map", m) for m in order] + [("numbers", m) for m in order]
        for method in self.methods:
            self._draw_cell(method)
        self.scheduler.request()

    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        while self._pending:
            kind, method = self._pending.pop(0)
            if kind == "numbers" and method not in self.maps:
                continue  # its map failed
            token = (self._generation, kind, method)
            source, target = self._source, self.target
            cell = self.maps.get(method)

            def job(kind=kind, method=method, cell=cell):
                with KERNEL_LOCK:
                    if kind == "map":
                        return source.cell_map(method, target)
                    return source.numbers(cell)
            return token, job
        return None

    def _finish(self, token: Any, result: Any, error: BaseException | None) -> None:
        generation, kind, method = token
        if generation == self._generation:  # an older class's cell is dropped
            if error is not None:
                self.errors[method] = f"{type(error).__name__}: {error}"
            elif kind == "map":
                self.maps[method] = result
            else:
                self.numbers[method] = result
            if kind == "numbers":
                for other in self.methods:
                    self._caption_cell(other)
            else:
                self._draw_cell(method)
        if self._pending:
            self.scheduler.request()
        elif generation == self._generation:
            self.widget.update_saved_picture()

    # ------------------------------------------------------------------ drawing
    def _draw_cell(self, method: str) -> None:
        cell = self.maps.get(method)
        transport = self.transports[method]
        if cell is not None:
            heat = grid.heat(cell, self.colormap, self.scale)
            transport.send(None, render.encode_png(heat), self.opacity)
            bar = grid.colours(cell, self.colormap, self.scale)
            self._bars[method].value = render.encode_png(compose.colour_bar(bar, 192))
        else:
            blank = np.zeros((*transport.size, 4), np.uint8)
            transport.send(None, render.encode_png(blank), self.opacity)
            self._bars[method].value = b""
        self._caption_cell(method)

    def _caption_cell(self, method: str) -> None:
        marks = grid.best(self.numbers)
        lines = self._caption(method, marks)
        text = "<br>".join(html.escape(line) for line in lines[1:]).replace(grid.BEST, "★")
        self._captions[method].value = f"<b>{html.escape(lines[0])}</b><br>{text}"

    def _caption(self, method: str, marks: Mapping[str, set[str]]) -> list[str]:
        if method in self.errors:
            return [method, self.errors[method]]
        if method not in self.maps:
            return [method, "computing...", ""]
        return [method, *grid.number_lines(method, self.numbers.get(method), marks)]

    def _header(self) -> list[str]:
        index = self.explained_class
        name = self.class_names(index, self.n_classes)
        chosen = "predicted" if self.target is None else "chosen"
        pointing = ", pt: pointing game" if self.boxes is not None else ""
        return [f"class {name} ({chosen}); {grid.BEST} the best of a column",
                "del: deletion AUC (lower is better)",
                f"ins: insertion AUC (higher is better){pointing}"]

    def _on_target(self, change: dict[str, Any]) -> None:
        self._class_menu.value = -1 if change["new"] is None else int(change["new"])
        self.header.value = "<br>".join(html.escape(line) for line in self._header())
        if self._source is not None:
            self._restart()

    def _on_colours(self, change: dict[str, Any]) -> None:
        for method in self.methods:
            self._draw_cell(method)

    def _on_opacity(self, change: dict[str, Any]) -> None:
        for transport in self.transports.values():
            transport.send(None, None, self.opacity)

    # ------------------------------------------------------------------ page
    def _build_page(self) -> None:
        self.header = widgets.HTML()
        self._class_menu = widgets.Dropdown(options=[("predicted", -1)], value=-1,
                                            description="class")
        self._class_menu.observe(self._on_class_menu, names=["value"])
        opacity = widgets.FloatSlider(min=0.0, max=1.0, step=0.05, description="opacity")
        colormap = widgets.Dropdown(options=["auto", "jet", "viridis", "inferno", "RdBu_r"],
                                    description="colormap")
        scale = widgets.ToggleButtons(options=["map", "shared"], description="scale")
        for control, name in ((opacity, "opacity"), (colormap, "colormap"), (scale, "scale")):
            link((self, name), (control, "value"))
        self.controls = widgets.HBox([self._class_menu, opacity, colormap, scale],
                                     layout=widgets.Layout(flex_flow="row wrap"))
        self._captions = {m: widgets.HTML() for m in self.methods}
        self._bars = {m: widgets.Image(format="png") for m in self.methods}
        cells = [widgets.VBox([self._captions[m], self.transports[m].canvases["overlay"],
                               self._bars[m]], layout=widgets.Layout(min_width="0"))
                 for m in self.methods]
        for cell in cells:
            cell.add_class("cam-compare-cell")
        self.cells = widgets.GridBox(cells, layout=widgets.Layout(
            grid_template_columns=f"repeat({self.columns}, minmax(0, 1fr))",
            grid_gap="6px", width="100%"))
        self.widget = CamView(self._png, children=[widgets.HTML(_CSS), self.header,
                                                   self.controls, self.cells])
        self.widget.add_class("cam-compare")

    def _fill_classes(self) -> None:
        count = self.n_classes or 0
        options = [(f"predicted: {self.class_names(self._predicted, count)}", -1)]
        options += [(self.class_names(i, count), i) for i in range(count)]
        self._class_menu.options = options
        self._class_menu.value = -1 if self.target is None else int(self.target)
        self.header.value = "<br>".join(html.escape(line) for line in self._header())

    def _on_class_menu(self, change: dict[str, Any]) -> None:
        self.target = None if change["new"] == -1 else int(change["new"])

    def _png(self) -> bytes | None:
        """The saved notebook's picture: the grid as it is now (None before `show`)."""
        return None if self._image is None else render.encode_png(self._quick())

    def _quick(self) -> np.ndarray:
        """The grid as it is now, without waiting for pending cells."""
        marks = grid.best(self.numbers)
        cells = [grid.cell_figure(self._image, self.maps.get(m), self._caption(m, marks),
                                  self.colormap, self.scale, self.opacity)
                 for m in self.methods]
        return grid.grid(cells, self.columns, self._header())
