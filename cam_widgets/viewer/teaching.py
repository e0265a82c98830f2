"""Two teaching views under the viewer's panels: the map at every depth of the layer
menu (one kernel pass, `layer=[...]`; click a map to select its layer), and the sanity
check (Adebayo et al. 2018: the maps as the model's layers are randomised from the top,
each with its rank correlation to the original). Both run on their own `LatestWins`, one
kernel call at a time (`KERNEL_LOCK`), and are drawn by `strips`; `pictures(width)` gives
what `snapshot()` appends while they are shown."""
from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np
from traitlets import link

from cam_widgets import render
from cam_widgets.viewer import strips
from cam_widgets.viewer.scheduler import KERNEL_LOCK, LatestWins


def strip_items(cells: list[np.ndarray], captions: list[list[str]]) -> list[widgets.VBox]:
    """A strip's small pictures, each over its caption lines, for a wrapping box."""
    return [widgets.VBox([widgets.Image(value=render.encode_png(cell), format="png",
                                        layout=widgets.Layout(width="96px")),
                          widgets.HTML("<br>".join(html.escape(x) for x in lines))],
                         layout=widgets.Layout(width="100px"))
            for cell, lines in zip(cells, captions)]


def _select_tip(path: str) -> str:
    """A depth cell's button tooltip: it names the layer the cell shows (a redraw for
    the same layers keeps the cells)."""
    return f"select layer {path}"


def _key(settings: Any) -> tuple:
    """What a strip depends on (not the layer: the depth strip shows them all)."""
    return (settings.image_index, settings.input_index, settings.method, settings.target,
            settings.guided, settings.options)


class TeachingViews:
    """The "all depths" toggle (bound to the viewer's `depths` trait), the "sanity check"
    button, and the two strips they show."""

    def __init__(self, viewer: Any, kernel: Any, session: Any,
                 paths: Callable[[], list[str]]) -> None:
        self.viewer, self.kernel, self.session, self._paths = viewer, kernel, session, paths
        self.toggle = widgets.ToggleButton(description="all depths",
                                           tooltip="the map at every layer of the menu")
        link((viewer, "depths"), (self.toggle, "value"))
        self.sanity_button = widgets.Button(
            description="sanity check",
            tooltip="randomise the model's layers from the top and watch the map")
        self.sanity_button.on_click(lambda _: self.request("sanity"))
        wrap = dict(display="flex", flex_flow="row wrap", width="100%")
        self.depth_box = widgets.Box(layout=widgets.Layout(**wrap))
        self.sanity_box = widgets.Box(layout=widgets.Layout(**wrap))
        self.note = widgets.HTML()
        self.box = widgets.VBox([widgets.HBox([self.toggle, self.sanity_button]), self.note,
                                 self.depth_box, self.sanity_box])
        self.depths: tuple[tuple, list[str], np.ndarray] | None = None  # key, paths, maps
        self.sanity: tuple[tuple, Any] | None = None  # key, SanityCheck
        self._wanted: list[str] = []
        self.scheduler = LatestWins(self._prepare, self._finish, self._busy)

    @property
    def paths(self) -> list[str]:
        """The layers of the depth strip shown (the layer menu when it was computed)."""
        return [] if self.depths is None else list(self.depths[1])

    # ------------------------------------------------------------------ requests
    def request(self, view: str) -> None:
        """Compute `view` ("depths" or "sanity") for the current settings."""
        if view not in self._wanted:
            self._wanted.append(view)
        self.scheduler.request()

    def map_shown(self) -> None:
        """A new map is on the panels: bring the shown strips up to date."""
        current = _key(self.viewer.settings)
        if self.viewer.depths and (self.depths is None or self.depths[0] != current):
            self.request("depths")
        if self.sanity is not None and self.sanity[0] != current:
            self.sanity = None  # stale: the button computes it again
            self._draw_sanity()

    def depths_changed(self, shown: bool) -> None:
        if shown:
            self.map_shown()
        self._draw_depths()

    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        images = self.session.images
        if not self._wanted or images is None:
            self._wanted.clear()
            return None
        view = self._wanted.pop(0)
        settings = self.viewer.settings
        inputs = images.model_inputs(settings.image_index)
        inputs = inputs[0] if len(inputs) == 1 else inputs
        target = settings.target
        kwargs = dict(method=settings.method, target=target,
                      input_index=settings.input_index, **dict(settings.options))
        if settings.guided:
            kwargs["guided"] = True
        kernel, model = self.kernel, self.viewer.model
        if view == "depths":
            if not kernel.get_method(settings.method).uses_layer:
                self.note.value = html.escape(
                    f"all depths: {settings.method} reads no layer; pick a CAM method")
                return None
            paths = self._paths()

            def job():
                with KERNEL_LOCK:
                    found = kernel.explain(model, inputs, layer=paths, **kwargs)
                return paths, np.asarray(found.maps)[0]
        else:
            def job():
                with KERNEL_LOCK:
                    return kernel.sanity_check(model, inputs, **kwargs)
        return (view, _key(settings)), job

    def _finish(self, token: Any, result: Any, error: BaseException | None) -> None:
        view, key = token
        if error is not None:
            self.note.value = html.escape(f"{view}: {type(error).__name__}: {error}")
        elif view == "depths":
            self.note.value = ""
            self.depths = (key, *result)
            self._draw_depths()
        else:
            self.note.value = ""
            self.sanity = (key, result)
            self._draw_sanity()
        if self._wanted:
            self.scheduler.request()

    def _busy(self, busy: bool) -> None:
        for box in (self.depth_box, self.sanity_box):
            if busy:
                box.add_class("cam-widgets-busy")
            else:
                box.remove_class("cam-widgets-busy")

    # ------------------------------------------------------------------ drawing
    def _image(self) -> np.ndarray | None:
        return self.session.shown_image

    def _depth_cells(self, side: int = strips.CELL) -> tuple[list[np.ndarray], list[list[str]]]:
        _, paths, maps = self.depths
        image, v = strips.small_picture(self._image(), side), self.viewer
        cells = [strips.small_overlay(image, m, v.colormap, v.opacity, side) for m in maps]
        return cells, [[p.rsplit("/", 1)[-1]] for p in paths]

    def _sanity_cells(self) -> tuple[list[np.ndarray], list[list[str]]]:
        return strips.sanity_cells(self.sanity[1], self._image(), self.viewer.colormap,
                                   self.viewer.opacity)

    def repaint(self) -> None:
        """The colormap or the opacity changed: draw the shown strips again (nothing is
        recomputed; the depth strip's cells stay, only their pictures change)."""
        self._draw_depths()
        self._draw_sanity()

    def _draw_depths(self) -> None:
        if not self.viewer.depths or self.depths is None:
            self.depth_box.children = ()
            return
        cells, captions = self._depth_cells(strips.PAGE_CELL)
        paths = self.depths[1]
        pictures = [render.encode_png(cell, render.FAST_PNG_LEVEL) for cell in cells]
        if [box.children[1].tooltip for box in self.depth_box.children] == \
                [_select_tip(path) for path in paths]:
            for box, picture in zip(self.depth_box.children, pictures):
                box.children[0].value = picture  # same layers: only the pictures change
            return
        width = f"{strips.PAGE_CELL}px"
        items = []
        for picture, (name,), path in zip(pictures, captions, paths):
            button = widgets.Button(description=name, tooltip=_select_tip(path),
                                    layout=widgets.Layout(width=width))
            button.on_click(lambda _, path=path: setattr(self.viewer, "layer", path))
            shown = widgets.Image(value=picture, format="png", layout=widgets.Layout(width=width))
            items.append(widgets.VBox([shown, button], layout=widgets.Layout(width="100px")))
        self.depth_box.children = items

    def _draw_sanity(self) -> None:
        if self.sanity is None:
            self.sanity_box.children = ()
            return
        self.sanity_box.children = strip_items(*self._sanity_cells())

    def pictures(self, width: int) -> list[np.ndarray]:
        """The strips shown now, as pictures `width` pixels wide (for `snapshot()`)."""
        found = []
        if self.viewer.depths and self.depths is not None:
            found.append(strips.strip(*self._depth_cells(), width,
                                      f"{self.viewer.method} at every depth"))
        if self.sanity is not None:
            found.append(strips.strip(*self._sanity_cells(), width, strips.SANITY_TITLE))
        return found

    def flush(self) -> None:
        self.scheduler.flush()
