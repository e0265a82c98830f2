"""Both inputs of a pair at once: for a model with several image inputs (a siamese
pair), the rows image | heatmap | overlay of the inputs not on the panels, for the same
score, each explained through its own branch (`input_index`), one kernel call per input
on their own `LatestWins`. Drawn with `compose` from the maps kept here, so an opacity or
colormap change repaints them without the kernel; `pictures()` adds them to `snapshot()`."""
from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np

from cam_widgets import render
from cam_widgets.viewer import compose
from cam_widgets.viewer.scheduler import KERNEL_LOCK, LatestWins


class OtherInputs:
    """The rows of the inputs other than the viewer's `input_index` (none for a model
    with one input)."""

    def __init__(self, viewer: Any, kernel: Any, session: Any,
                 input_names: list[str], panel_px: Callable[[], int]) -> None:
        self.viewer, self.kernel, self.session = viewer, kernel, session
        self.names, self._panel_px = input_names, panel_px
        self.box = widgets.VBox()
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # input: (image, map)
        self._signed = False
        self._pictures: dict[int, list[widgets.Image]] = {}  # input: image, heatmap, overlay
        self._key: tuple | None = None
        self.scheduler = LatestWins(self._prepare, self._finish, lambda busy: None)

    def map_shown(self) -> None:
        """A new map is on the panels: the other inputs' rows for the same settings."""
        if len(self.names) > 1:
            self.scheduler.request()

    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        images, s = self.session.images, self.viewer.settings
        if images is None:
            return None
        key = (s.image_index, s.input_index, s.layer, s.method, s.target, s.guided,
               s.options)
        if key == self._key:
            return None
        others = [j for j in range(len(self.names)) if j != s.input_index]
        inputs = images.model_inputs(s.image_index)
        kwargs = dict(method=s.method, target=s.target, guided=s.guided, **dict(s.options))
        method = self.kernel.get_method(s.method)
        if method.uses_layer:
            kwargs["layer"] = s.layer
        signed = method.signed_map(s.guided)
        kernel, model = self.kernel, self.viewer.model

        def job():
            found = {}
            with KERNEL_LOCK:
                for j in others:
                    result = kernel.explain(model, inputs, input_index=j, **kwargs)
                    found[j] = np.asarray(result.maps)[0]
            return {j: (images.display(s.image_index, j), m) for j, m in found.items()}
        return (key, signed), job

    def _finish(self, token: Any, result: Any, error: BaseException | None) -> None:
        self._key, self._signed = token
        self._maps.clear()
        if error is not None:
            self._pictures = {}
            self.box.children = [widgets.HTML(html.escape(
                f"other inputs: {type(error).__name__}: {error}"))]
            return
        for j, (image, values) in result.items():
            values = render.resize(values, image.shape[:2])
            self._maps[j] = (image, values * 2.0 - 1.0 if self._signed else values)
        self.repaint()

    @property
    def rows(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, Any]]:
        """Each other input's image, heatmap, overlay and colour scale, at the viewer's
        current opacity and colormap."""
        v, rows = self.viewer, {}
        for j, (image, values) in self._maps.items():
            colours = compose.colour_scale(values, self._signed, v.colormap, "map")
            heat = compose.heatmap(values, colours)
            rows[j] = (image, heat, compose.blend_overlay(image, heat, v.opacity), colours)
        return rows

    def repaint(self) -> None:
        """Draw the rows again at the viewer's opacity and colormap (no kernel call)."""
        if not self._maps:
            return
        rows = self.rows
        if set(self._pictures) != set(rows):  # other inputs than last time: new rows
            self._pictures = {j: [widgets.Image(format="png") for _ in range(3)] for j in rows}
            children = []
            for j, pictures in self._pictures.items():
                children += [widgets.HTML(f"<b>input {j}: {html.escape(self.names[j])}</b>"),
                             widgets.HBox(pictures,
                                          layout=widgets.Layout(flex_flow="row wrap"))]
            self.box.children = children
        width = f"{self._panel_px()}px"
        for j, (image, heat, overlay, _) in rows.items():
            for picture, pixels in zip(self._pictures[j], (image, heat, overlay)):
                picture.value = render.encode_png(pixels)
                picture.layout.width, picture.layout.max_width = width, "32%"

    def pictures(self, width: int) -> list[np.ndarray]:
        """Each other input's captioned row (for `snapshot()`)."""
        return [compose.figure(image, heat, overlay, [f"input {j}: {self.names[j]}"],
                               colours)
                for j, (image, heat, overlay, colours) in self.rows.items()]

    def flush(self) -> None:
        self.scheduler.flush()
