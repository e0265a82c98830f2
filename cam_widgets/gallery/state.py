"""Which rows the gallery shows, in which order, page by page (pure, no widgets)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cam_widgets.gallery.data import UNKNOWN, GalleryData


@dataclass(frozen=True)
class View:
    """The gallery's settings that choose rows (the widget's traitlets, as a value)."""

    sort_by: str = "index"
    descending: bool = False
    predicted: int | None = None  # keep rows the model put in this class
    label: int | None = None  # keep rows of this true class
    misclassified: bool = False  # keep rows whose prediction differs from the label
    page: int = 0
    per_page: int = 24


def selected_rows(data: GalleryData, view: View) -> np.ndarray:
    """Row numbers that pass the filters, sorted (NaN last, ties in source order)."""
    keep = np.ones(len(data), bool)
    if view.predicted is not None:
        keep &= data.predicted == view.predicted
    if view.label is not None:
        keep &= data.labels == view.label
    if view.misclassified:
        keep &= data.misclassified
    rows = np.flatnonzero(keep)
    values = data.column(view.sort_by)[rows]
    key = -values if view.descending else values
    key = np.where(np.isnan(key), np.inf, key)  # unknown values go last either way
    return rows[np.argsort(key, kind="stable")]


def page_count(n_rows: int, per_page: int) -> int:
    return max(1, -(-n_rows // per_page))


def page_rows(rows: np.ndarray, view: View) -> np.ndarray:
    """The rows on `view.page` (clamped to the last page)."""
    page = min(max(view.page, 0), page_count(len(rows), view.per_page) - 1)
    return rows[page * view.per_page:(page + 1) * view.per_page]


def classes_in(data: GalleryData) -> list[int]:
    """Every known class index among labels, targets and predictions."""
    values = np.concatenate([data.labels, data.predicted, data.targets])
    return sorted(int(v) for v in np.unique(values) if v != UNKNOWN)
