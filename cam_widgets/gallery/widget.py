"""CamGallery: a paged grid of overlay thumbnails over many explained images.

Settings are traitlets (sort, filters, page, look); each change recomputes the rows
(`state`), the pixels (`compose`) and sends one sheet through the transport. Clicking a
thumbnail opens that image in a CamViewer beside the grid (or, with no model, the
stored map at full panel size).
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from cam_widgets import render
from cam_widgets.class_names import ClassNames, ClassNamesLike
from cam_widgets.gallery import compose
from cam_widgets.gallery.data import (SORT_KEYS, UNKNOWN, GalleryData, from_result,
                                      from_results, from_table)
from cam_widgets.gallery.state import View, classes_in, page_count, page_rows, selected_rows

_VIEW_FIELDS = ("sort_by", "descending", "predicted", "label", "misclassified", "page",
                "per_page")


class CamGallery(traitlets.HasTraits):
    """Browse many explanations: `CamGallery("results/", model=model).show()`.

    Parameters
    ----------
    source : a folder written by `explain_to_parquet`, a pyarrow Table of its rows, or an
        `explain` result (then pass `images`, and optionally `labels` and `boxes`).
    model : keras.Model or .keras path, optional; needed to open a CamViewer on click.
    images : the images, when ids are indices (arrays or explain results).
    preprocess, class_names : as for CamViewer (class names: a list, a dict, a decoder
        callable or "imagenet", read by the same `ClassNames`).
    Settings (traitlets): sort_by, descending, predicted, label, misclassified, page,
    per_page, columns, thumb_size, opacity, colormap; `selected` is the clicked row.
    """

    sort_by = traitlets.Enum(SORT_KEYS, default_value="index")
    descending = traitlets.Bool(False)
    predicted = traitlets.Int(None, allow_none=True)
    label = traitlets.Int(None, allow_none=True)
    misclassified = traitlets.Bool(False)
    page = traitlets.Int(0)
    per_page = traitlets.Int(24)
    columns = traitlets.Int(6)
    thumb_size = traitlets.Int(64)
    opacity = traitlets.Float(0.5)
    colormap = traitlets.Unicode("auto")  # as the viewer: jet for maps >= 0
    selected = traitlets.Int(None, allow_none=True)

    def __init__(self, source: Any, *, model: Any = None, images: Any = None,
                 preprocess: Callable[[np.ndarray], Any] | None = None,
                 class_names: ClassNamesLike = None,
                 labels: Sequence[int] | None = None, boxes: np.ndarray | None = None,
                 transport: Any = None, **settings: Any) -> None:
        unknown = sorted(set(settings) - set(self.trait_names()))
        if unknown:
            close = difflib.get_close_matches(unknown[0], self.trait_names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            names = ", ".join(sorted(self.trait_names()))
            raise TypeError(f"CamGallery has no setting {unknown[0]!r}.{hint} Settings: {names}.")
        super().__init__(**settings)
        self._model = _load(model)
        size = None
        if self._model is not None:
            shape = tuple(self._model.inputs[0].shape)
            size = (int(shape[1]), int(shape[2])) if len(shape) == 4 else None
        binary = n_classes = None
        if self._model is not None:
            from cam_widgets.kernel.targets import class_count, sigmoid_head

            binary, n_classes = sigmoid_head(self._model), class_count(self._model)
        self.data = _data(source, images, labels, boxes, size, binary)
        self.class_names = ClassNames(class_names)  # as the viewer reads them
        self._class_source = class_names
        self._n_classes = n_classes or max(classes_in(self.data), default=-1) + 1 or None
        self._preprocess = preprocess
        self._viewer = None
        self._thumbs: dict[tuple, np.ndarray] = {}
        if transport is None:
            from cam_widgets.gallery.transport import CanvasTransport

            transport = CanvasTransport()
        self.transport = transport
        self.transport.on_click(self._clicked)
        self.rows = np.zeros(0, np.int64)  # the filtered, sorted rows
        self.shown = np.zeros(0, np.int64)  # the rows on this page, in grid order
        self.sheet = np.zeros((1, 1, 4), np.uint8)  # the last RGBA sheet sent
        self._side = widgets.VBox()
        self._info = widgets.HTML()
        self._controls = self._make_controls()
        self.observe(self._refresh, names=[*_VIEW_FIELDS, "columns", "thumb_size", "opacity",
                                           "colormap"])
        self.observe(self._open, names=["selected"])
        self._refresh()

    # -- state ---------------------------------------------------------------------------
    @property
    def view(self) -> View:
        return View(**{name: getattr(self, name) for name in _VIEW_FIELDS})

    @property
    def layout(self) -> compose.Layout:
        return compose.Layout(columns=self.columns, cell=self.thumb_size)

    @property
    def pages(self) -> int:
        return page_count(len(self.rows), self.per_page)

    def name(self, index: int) -> str:
        """The name of class `index` ("class 3" without names), "?" when unknown."""
        if index == UNKNOWN:
            return "?"
        return self.class_names(index, self._n_classes)

    def thumbnail(self, row: int) -> np.ndarray:
        key = (row, self.thumb_size, self.opacity, self.colormap)
        if key not in self._thumbs:
            self._thumbs[key] = compose.thumbnail(self.data.image_of(row), self.data.maps[row],
                                                  self.thumb_size, self.opacity, self.colormap)
        return self._thumbs[key]

    def border(self, row: int) -> tuple[int, int, int]:
        if row == self.selected:
            return compose.SELECTED
        if self.data.labels[row] == UNKNOWN or self.data.predicted[row] == UNKNOWN:
            return compose.NEUTRAL
        wrong = self.data.labels[row] != self.data.predicted[row]
        return compose.WRONG if wrong else compose.CORRECT

    def _refresh(self, change: Any = None) -> None:
        self.rows = selected_rows(self.data, self.view)
        if self.page >= self.pages:
            self.page = self.pages - 1  # observed: refreshes again
            return
        self.shown = page_rows(self.rows, self.view)
        self.sheet = compose.sheet([self.thumbnail(int(r)) for r in self.shown],
                                   [self.border(int(r)) for r in self.shown], self.layout)
        self.transport.draw(self.sheet)
        self._info.value = (f"{len(self.rows)} of {len(self.data)} images · page "
                            f"{self.page + 1}/{self.pages} · {self.data.method} "
                            f"({self.data.layer or 'input'}) · green: right, red: wrong")
        self._colour_bar.value = render.encode_png(
            compose.colour_bar(self.colormap, min(self.sheet.shape[1], 256)))

    # -- clicks and the viewer -----------------------------------------------------------
    def _clicked(self, x: float, y: float) -> None:
        index = self.layout.cell_at(x, y, len(self.shown))
        if index is not None:
            self.selected = int(self.shown[index])

    def click(self, position: int) -> None:
        """Act as a click on the thumbnail at `position` on this page (0 = top left)."""
        y, x = self.layout.origin(position)
        self._clicked(x + self.layout.border + 1, y + self.layout.border + 1)

    def _open(self, change: Any = None) -> None:
        self._refresh()
        row = self.selected
        if row is None:
            self._side.children = ()
            return
        data = self.data
        caption = widgets.HTML(
            f"<b>{data.ids[row]}</b><br>true {self.name(int(data.labels[row]))} · predicted "
            f"{self.name(int(data.predicted[row]))} ({data.probability[row]:.2f}) · target "
            f"{self.name(int(data.targets[row]))} · score {data.scores[row]:.3f}")
        image = data.image_of(row)
        if self._model is None:
            big = compose.thumbnail(image, data.maps[row], 256, self.opacity, self.colormap)
            panel = widgets.Image(value=render.encode_png(big), format="png")
        else:
            panel = self.viewer.show(image)
            target = int(data.targets[row])
            self.viewer.target = None if target == UNKNOWN else target  # the class stored
            self.viewer.flush()
        self._side.children = (caption, panel)

    @property
    def viewer(self):
        """The CamViewer beside the grid (made on the first click; needs `model`)."""
        if self._viewer is None:
            from cam_widgets import CamViewer

            layer = self.data.layer if self.data.layer and "," not in self.data.layer else None
            method = self.data.method if "," not in self.data.method else "gradcam"
            self._viewer = CamViewer(self._model, class_names=self._class_source,
                                     preprocess=self._preprocess, layer=layer, method=method,
                                     opacity=self.opacity, colormap=self.colormap)
        return self._viewer

    def to_html(self, path: str | os.PathLike[str], all_pages: bool = False, size: int = 128,
                title: str | None = None) -> int:
        """Write this page's thumbnails (every filtered page's with `all_pages`) with their
        captions to ONE self-contained HTML file (no network, no Python to view it), with
        an opacity slider and a "misclassified only" switch. Returns its size in bytes."""
        from cam_widgets.gallery.html_export import write_html

        return write_html(self, path, all_pages, size, title)

    # -- widgets -------------------------------------------------------------------------
    def _make_controls(self) -> widgets.Widget:
        classes = [("any", None)] + [(self.name(c), c) for c in classes_in(self.data)]
        sort = widgets.Dropdown(options=list(SORT_KEYS), description="sort by")
        descending = widgets.Checkbox(description="descending")
        predicted = widgets.Dropdown(options=classes, description="predicted")
        label = widgets.Dropdown(options=classes, description="true class")
        wrong = widgets.Checkbox(description="misclassified only")
        for control, trait in ((sort, "sort_by"), (descending, "descending"),
                               (predicted, "predicted"), (label, "label"),
                               (wrong, "misclassified")):
            traitlets.link((self, trait), (control, "value"))  # the settings given win
        previous, following = widgets.Button(description="◀"), widgets.Button(description="▶")
        previous.on_click(lambda _: setattr(self, "page", max(0, self.page - 1)))
        following.on_click(lambda _: setattr(self, "page", min(self.pages - 1, self.page + 1)))
        self._colour_bar = widgets.Image(format="png")
        return widgets.VBox([widgets.HBox([sort, descending]), widgets.HBox([predicted, label]),
                             widgets.HBox([wrong, previous, following]), self._info,
                             self._colour_bar])

    def show(self) -> widgets.Widget:
        """The gallery widget: controls and grid on the left, the clicked image on the right."""
        return widgets.HBox([widgets.VBox([self._controls, self.transport.widget]), self._side])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.show())


def _load(model: Any):
    if model is None:
        return None
    from cam_widgets.audit.models import load_model

    return load_model(model)


def _data(source: Any, images: Any, labels: Any, boxes: Any, size: Any,
          binary: bool | None) -> GalleryData:
    import pyarrow as pa

    from cam_widgets.audit import Results, read_results

    if isinstance(source, (str, os.PathLike)):
        source = read_results(source)
    if isinstance(source, Results):  # read lazily: maps on demand
        if labels is not None or boxes is not None:
            raise ValueError("labels and boxes come from the results; give them to "
                             "explain_to_parquet instead.")
        return from_results(source, images, size)
    if isinstance(source, pa.Table):
        if labels is not None or boxes is not None:
            raise ValueError("labels and boxes come from the results table; give them to "
                             "explain_to_parquet instead.")
        return from_table(source, images, size)
    if hasattr(source, "maps") and hasattr(source, "targets"):
        if images is None:
            raise ValueError("An explain result needs its images: CamGallery(result, images=x).")
        return from_result(source, images, labels, boxes, binary)
    raise TypeError(f"CamGallery shows a results folder, a pyarrow Table or an explain result; "
                    f"got {type(source).__name__}.")
