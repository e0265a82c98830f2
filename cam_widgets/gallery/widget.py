"""CamGallery: a paged grid of captioned overlay thumbnails over many explained images.

Settings are traitlets (sort, filters, page, look); each change recomputes the rows
(`state`), the pixels (`compose`, captions from `words`) and sends one sheet through the
transport. Clicking a thumbnail opens that image in a CamViewer beside the grid, or
under it on a narrow page (`page`); with no model, the stored map at full panel size.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from cam_widgets import render
from cam_widgets.class_names import ClassNames, ClassNamesLike
from cam_widgets.gallery import compose, controls, words
from cam_widgets.gallery.cache import ThumbnailCache
from cam_widgets.gallery.data import SORT_KEYS, UNKNOWN
from cam_widgets.gallery.page import Page
from cam_widgets.gallery.sources import load_model, read_source
from cam_widgets.gallery.state import View, classes_in, page_count, page_rows, selected_rows

_VIEW_FIELDS = ("sort_by", "descending", "predicted", "label", "misclassified", "page",
                "per_page")
CACHED_PAGES = 3  # thumbnails kept: this many pages' worth


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
    per_page, columns, thumb_size, captions, opacity, colormap; `selected` is the clicked
    row.
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
    captions = traitlets.Bool(True)  # class, probability and right/wrong under each
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
        self._model = load_model(model)
        size = None
        if self._model is not None:
            shape = tuple(self._model.inputs[0].shape)
            size = (int(shape[1]), int(shape[2])) if len(shape) == 4 else None
        binary = n_classes = None
        if self._model is not None:
            from cam_widgets.kernel.targets import class_count, sigmoid_head

            binary, n_classes = sigmoid_head(self._model), class_count(self._model)
        self.data = read_source(source, images, labels, boxes, size, binary)
        self.class_names = ClassNames(class_names)  # as the viewer reads them
        self._class_source = class_names
        self._n_classes = n_classes or max(classes_in(self.data), default=-1) + 1 or None
        self._preprocess = preprocess
        self._viewer = None
        self._thumbs = ThumbnailCache(CACHED_PAGES * max(self.per_page, 1))
        if transport is None:
            from cam_widgets.gallery.transport import CanvasTransport

            transport = CanvasTransport()
        self.transport = transport
        self.transport.on_click(self._clicked)
        self.rows = np.zeros(0, np.int64)  # the filtered, sorted rows
        self.shown = np.zeros(0, np.int64)  # the rows on this page, in grid order
        self.sheet = np.zeros((1, 1, 4), np.uint8)  # the last RGBA sheet sent
        classes = [(self.name(c), c) for c in classes_in(self.data)]
        self._controls = controls.build(self, classes)
        self._page = Page(self._controls.widget, self.transport.widget)
        self.observe(self._refresh, names=[*_VIEW_FIELDS, "columns", "thumb_size", "captions",
                                           "opacity", "colormap"])
        self.observe(self._open, names=["selected"])
        self._refresh()

    # -- state ---------------------------------------------------------------------------
    @property
    def view(self) -> View:
        return View(**{name: getattr(self, name) for name in _VIEW_FIELDS})

    @property
    def layout(self) -> compose.Layout:
        return compose.Layout(columns=self.columns, cell=self.thumb_size,
                              caption=compose.caption_height(2) if self.captions else 0)

    @property
    def pages(self) -> int:
        return page_count(len(self.rows), self.per_page)

    def name(self, index: int) -> str:
        """The name of class `index` ("class 3" without names), "?" when unknown."""
        if index == UNKNOWN:
            return "?"
        return self.class_names(index, self._n_classes)

    def thumbnail(self, row: int) -> np.ndarray:
        """Row `row`'s overlay at thumbnail size (kept for the last few pages shown)."""
        return self._thumbs.get(
            (row, self.thumb_size, self.opacity, self.colormap),
            lambda: compose.thumbnail(self.data.image_of(row), self.data.maps[row],
                                      self.thumb_size, self.opacity, self.colormap))

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
        self._thumbs.capacity = CACHED_PAGES * max(self.per_page, 1)
        self.shown = page_rows(self.rows, self.view)
        rows = [int(r) for r in self.shown]
        self.sheet = compose.sheet([self.thumbnail(r) for r in rows],
                                   [self.border(r) for r in rows], self.layout,
                                   [words.caption(self.data, r, self.name) for r in rows])
        self.transport.draw(self.sheet)
        self._page.fit(self.sheet.shape[1])
        self._page.say_empty("" if len(self.rows) else
                             words.no_match(self.view, self.name, len(self.data)))
        self._controls.show_page(self.page, self.pages)
        legend = f" · {words.LEGEND}" if self.captions else ""
        self._page.info.value = (f"{len(self.rows)} of {len(self.data)} images · "
                                 f"{self.data.method} ({self.data.layer or 'input'}) · frame "
                                 f"green: right, red: wrong{legend}")
        self._page.set_colour_bar(self.colormap, min(self.sheet.shape[1], 256))

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
            self._page.open(())
            return
        data = self.data
        header = widgets.HTML(words.header(data, row, self.name))
        image = data.image_of(row)
        if self._model is None:
            big = compose.thumbnail(image, data.maps[row], 256, self.opacity, self.colormap)
            panel = widgets.Image(value=render.encode_png(big), format="png")
        else:
            panel = self.viewer.show(image)
            target = int(data.targets[row])
            self.viewer.target = None if target == UNKNOWN else target  # the class stored
            self.viewer.flush()
        self._page.open((header, panel))

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
    def show(self) -> widgets.Widget:
        """The gallery widget: controls and grid, the clicked image beside them (or under
        them when the page is narrow)."""
        return self._page.widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.show())

