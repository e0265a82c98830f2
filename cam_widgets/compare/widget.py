"""CamCompare: one image under several attribution methods, side by side, with the numbers
that say which map is faithful. Settings are traitlets (set from code or by a control).

Reuses the viewer's parts: `compose` draws (through `compare.grid`), `LatestWins` runs one
kernel call at a time (`compare.jobs`: the CAM family and saliency in one job, then each
other map and each cell's numbers, cheapest first, stale results of an older class
dropped), and each cell is a viewer `Painter` on a `CanvasTransport` whose overlay canvas
is shown (`compare.canvases`)."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from traitlets import Any as AnyTrait
from traitlets import Float, HasTraits, Unicode, validate

from cam_widgets import render
from cam_widgets.compare import grid
from cam_widgets.compare.canvases import CellCanvases
from cam_widgets.compare.cells import (
    DEFAULT_METHODS, CellMap, CellNumbers, CellSource, check_methods, one_image)
from cam_widgets.compare.jobs import CellJobs
from cam_widgets.compare.page import PREDICTED, ComparePage, class_options
from cam_widgets.compare.sanity import CompareSanity
from cam_widgets.kernel.targets import class_count
from cam_widgets.viewer import checks, strips
from cam_widgets.viewer.facade import SettingError
from cam_widgets.viewer.layout import CamView
from cam_widgets.viewer.transport import CanvasTransport
from cam_widgets.viewer.words import ClassNames

__all__ = ["CamCompare"]

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
        check_methods(methods)
        self.model, self.preprocess, self.layer = model, preprocess, layer
        self.methods = tuple(methods)
        self.class_names = ClassNames(class_names)
        self.n_classes = class_count(model)
        self.boxes = None if boxes is None else np.asarray(boxes, np.int64).reshape(-1, 4)
        self.columns = int(columns)
        self.canvases = CellCanvases(self.methods, self.transport_class)
        self.transports = self.canvases.transports
        self._source: CellSource | None = None
        self._image: np.ndarray | None = None
        self._predicted: int | None = None  # the predicted class in the class menu
        self.jobs = CellJobs(self.methods, self._on_map, self._caption_all,
                             lambda: self.widget.update_saved_picture())
        self.sanity = CompareSanity(self.methods, self._sanity_job, lambda: self._image,
                                    lambda: (self.colormap, self.opacity))
        self.page = ComparePage(
            self, self.methods, self.canvases.overlays, self.canvases.bars, self.columns,
            self._png, lambda value: setattr(self, "target", None if value == PREDICTED
                                             else int(value)), below=[self.sanity.box])
        self.widget = self.page.widget
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
        """Compare the methods on one image (H, W, C) (or a batch of one); returns the
        widget with the cheap maps drawn (the CAM family and saliency, from one pass).
        In a notebook the other cells fill in as they finish; `flush()` (or `await
        wait()`) waits for them. Elsewhere every cell is computed before it returns."""
        raw = one_image(image)
        inputs = np.asarray(raw[None] if self.preprocess is None
                            else self.preprocess(raw[None]), np.float32)
        box = None if self.boxes is None else self.boxes[0]
        # The first image is computed uncompiled (no trace to wait for); later ones reuse
        # what the first compiled.
        quick = self._source is None
        self._source = CellSource(self.model, inputs, self.layer, box, quick=quick)
        self._image = render.to_rgba8(render.to_rgb8(raw))
        self._predicted = None
        self.canvases.show_image(self._image)
        self._fill_classes()
        self._restart(new_image=True)
        return self.widget

    def flush(self) -> None:
        """Compute every pending cell (and a requested sanity check) now and draw it."""
        self.jobs.scheduler.flush()
        self.sanity.scheduler.flush()

    def sanity_check(self, method: str | None = None) -> None:
        """Show the sanity check of `method` (default: the first of the grid) under the
        grid: its map as the model's layers are randomised from the top (Adebayo et al.
        2018), for the image and class shown."""
        method = self.methods[0] if method is None else method
        if method not in self.methods:
            raise ValueError(f"method must be one of the grid's methods "
                             f"{list(self.methods)}; got {method!r}.")
        self.sanity.run(method)

    async def wait(self, timeout: float = 120.0) -> None:
        """In a running event loop: wait until every cell is computed."""
        await self.jobs.scheduler.wait(timeout)

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
    def explained_class(self) -> int | None:
        """The class the cells explain now (None while the predicted one is computed)."""
        if self.target is not None:
            return int(self.target)
        return None if self._source is None else self._source.predicted

    # ------------------------------------------------------------------ cells
    @property
    def maps(self) -> dict[str, CellMap]:
        """Each method's map for the current class, as far as computed."""
        return self.jobs.maps

    @property
    def numbers(self) -> dict[str, CellNumbers]:
        """Each method's faithfulness numbers for the current class, as far as computed."""
        return self.jobs.numbers

    def _restart(self, new_image: bool = False) -> None:
        """Every cell again for the current class. For a new image each cell shows the
        image alone until its map arrives, and the first job runs before this returns;
        for a new class each keeps its picture, dimmed, until then."""
        self.sanity.clear()
        self.jobs.restart(self._source, self.target)
        for method in self.methods:
            if new_image:
                self._draw_cell(method)
            else:
                self.page.busy(method, True)
                self._caption_cell(method)
        if new_image:
            self.jobs.run_first()
        self.jobs.scheduler.request()

    def _on_map(self, method: str) -> None:
        self.page.busy(method, False)
        self._draw_cell(method)
        if self._predicted is None and self._source.predicted is not None:
            self._fill_classes()  # the predicted class is known now

    def _caption_all(self) -> None:
        for method in self.methods:
            self._caption_cell(method)

    # ------------------------------------------------------------------ drawing
    def _draw_cell(self, method: str) -> None:
        self.canvases.draw(method, self.maps.get(method), (self.jobs.generation, method),
                           self.colormap, self.scale, self.opacity)
        self._caption_cell(method)

    def _caption_cell(self, method: str) -> None:
        self.page.caption(method, self._caption(method, grid.best(self.numbers)), grid.BEST)

    def _caption(self, method: str, marks: Mapping[str, set[str]]) -> list[str]:
        return grid.caption_lines(method, self.jobs.errors.get(method), method in self.maps,
                                  self.numbers.get(method), marks,
                                  grid.same_as(method, self.maps, self.methods))

    def _header(self) -> list[str]:
        shown = self.explained_class
        name = "..." if shown is None else self.class_names(shown, self.n_classes)
        return grid.header_lines(name, self.target is None, self.boxes is not None)

    def _on_target(self, change: dict[str, Any]) -> None:
        self.page.select(PREDICTED if change["new"] is None else int(change["new"]))
        self.page.say(self._header())
        if self._source is not None:
            self._restart()

    def _on_colours(self, change: dict[str, Any]) -> None:
        for method in self.methods:
            self._draw_cell(method)
        self.sanity.repaint()

    def _on_opacity(self, change: dict[str, Any]) -> None:
        self.canvases.set_opacity(self.maps, self.opacity)
        self.sanity.repaint()

    # ------------------------------------------------------------------ page
    def _fill_classes(self) -> None:
        self._predicted = self._source.predicted
        self.page.classes(class_options(self.class_names, self.n_classes or 0, self._predicted),
                          PREDICTED if self.target is None else int(self.target))
        self.page.say(self._header())

    def _png(self) -> bytes | None:
        """The saved notebook's picture: the grid as it is now (None before `show`)."""
        return None if self._image is None else render.encode_png(self._quick())

    def _quick(self) -> np.ndarray:
        """The grid as it is now (and the sanity strip under it), without waiting for
        pending cells."""
        marks = grid.best(self.numbers)
        cells = [grid.cell_figure(self._image, self.maps.get(m), self._caption(m, marks),
                                  self.colormap, self.scale, self.opacity)
                 for m in self.methods]
        picture = grid.grid(cells, self.columns, self._header())
        strip = self.sanity.picture(picture.shape[1])
        return picture if strip is None else strips.below(picture, strip)

    def _sanity_job(self, method: str) -> Callable[[], Any] | None:
        """The sanity check of `method` for the image and class shown (None before one)."""
        source, target = self._source, self.explained_class
        return None if source is None else lambda: source.sanity_check(method, target)
