"""What the gallery says in words: thumbnail captions, the opened image's header, the
line shown when no image passes the filters (pure: data and a class-name function in,
strings out)."""
from __future__ import annotations

import html
import os
from collections.abc import Callable

import numpy as np

from cam_widgets.gallery.compose import Caption
from cam_widgets.gallery.data import UNKNOWN, GalleryData
from cam_widgets.gallery.state import View

Namer = Callable[[int], str]  # class index -> name ("?" for UNKNOWN)
MARKS = {"right": "✓ right", "wrong": "✗ wrong"}
LEGEND = "under each image: predicted class, its probability, ✓ right / ✗ wrong"


def mark(data: GalleryData, row: int) -> str | None:
    """"right" or "wrong" (prediction against the true class), None when either is
    unknown."""
    label, predicted = int(data.labels[row]), int(data.predicted[row])
    if UNKNOWN in (label, predicted):
        return None
    return "right" if label == predicted else "wrong"


def caption(data: GalleryData, row: int, name: Namer) -> Caption:
    """Two lines under a thumbnail: the predicted class (the explained one when the
    prediction was not kept), then its probability ("p 0.93"; the explained score when
    no probability is known), and the right/wrong mark."""
    predicted = int(data.predicted[row])
    shown = predicted if predicted != UNKNOWN else int(data.targets[row])
    probability = float(data.probability[row])
    value = (f"p {probability:.2f}" if not np.isnan(probability)
             else f"score {float(data.scores[row]):.3g}")
    return Caption((name(shown), value), mark(data, row))


def image_name(identifier: object) -> str:
    """"image 5" for an index, the path itself for a file."""
    if isinstance(identifier, (str, os.PathLike)):
        return os.fspath(identifier)
    return f"image {identifier}"


def header(data: GalleryData, row: int, name: Namer) -> str:
    """HTML above the opened image: its name and class in bold, then what the model said
    and which class the map explains."""
    label, predicted = int(data.labels[row]), int(data.predicted[row])
    title = image_name(data.ids[row])
    kind = name(label) if label != UNKNOWN else (
        f"predicted {name(predicted)}" if predicted != UNKNOWN else "class unknown")
    said = [f"true {name(label)}", f"predicted {name(predicted)}"]
    probability = float(data.probability[row])
    if not np.isnan(probability):
        said[-1] += f" (p {probability:.2f})"
    verdict = mark(data, row)
    if verdict:
        said.append(MARKS[verdict])
    said.append(f"map of class {name(int(data.targets[row]))}, score "
                f"{float(data.scores[row]):.3f}")
    return (f"<b>{html.escape(title)} · {html.escape(kind)}</b><br>"
            f"{html.escape(' · '.join(said))}")


def no_match(view: View, name: Namer, total: int) -> str:
    """The sentence shown instead of an empty grid: which filters match nothing and how
    to see images again."""
    parts, undo = [], []
    if view.predicted is not None:
        parts.append(f"predicted {name(view.predicted)}")
    if view.label is not None:
        parts.append(f"true class {name(view.label)}")
    if parts:
        undo.append('set a menu back to "any"')
    if view.misclassified:
        parts.append("misclassified")
        undo.append('untick "misclassified only"')
    return (f"No images match {' and '.join(parts)} (0 of {total} images): "
            f"{' or '.join(undo)}.")
