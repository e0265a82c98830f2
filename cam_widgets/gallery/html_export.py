"""The gallery's side of `CamGallery.to_html`: the rows of this page (or of every page)
as thumbnails with their captions, handed to the page writer (`cam_widgets.export`)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image

from cam_widgets import render
from cam_widgets.export import Thumbnail, gallery_html
from cam_widgets.gallery import compose
from cam_widgets.gallery.data import UNKNOWN
from cam_widgets.viewer import compose as viewer_compose


def _thumbnail(gallery: Any, row: int, size: int) -> Thumbnail:
    data = gallery.data
    rgb = render.to_rgb8(data.image_of(row))
    base = np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR))
    scale = compose.unit_scale(gallery.colormap)
    indices = viewer_compose.heat_indices(render.resize(data.maps[row], (size, size)), scale)
    heat = render.encode_indexed_png(indices, viewer_compose.palette(scale.colormap))
    label, predicted = int(data.labels[row]), int(data.predicted[row])
    lines = [str(data.ids[row])]
    if predicted != UNKNOWN:
        lines.append(f"predicted {gallery.name(predicted)} ({data.probability[row]:.2f})")
    if label != UNKNOWN:
        lines.append(f"true {gallery.name(label)}")
    lines.append(f"target {gallery.name(int(data.targets[row]))} · score "
                 f"{data.scores[row]:.3f}")
    correct = None if UNKNOWN in (label, predicted) else label == predicted
    return Thumbnail(render.encode_png(render.to_rgba8(base)), heat, tuple(lines), correct)


def write_html(gallery: Any, path: str | os.PathLike[str], all_pages: bool, size: int,
               title: str | None) -> int:
    """Write the page to `path`; returns its size in bytes."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an int >= 16 (thumbnail pixels), got {size!r}")
    rows = gallery.rows if all_pages else gallery.shown
    data = gallery.data
    where = "all pages" if all_pages else f"page {gallery.page + 1}/{gallery.pages}"
    note = (f"{len(rows)} of {len(data)} images ({where}) · {data.method} "
            f"({data.layer or 'input'}) · the map over each image; ✓ right, ✗ wrong")
    text = gallery_html(title or "Where the model looks: a gallery",
                        [_thumbnail(gallery, int(r), int(size)) for r in rows],
                        gallery.opacity, int(size), note)
    encoded = text.encode("utf-8")
    with open(path, "wb") as f:
        f.write(encoded)
    return len(encoded)
