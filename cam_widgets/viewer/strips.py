"""Strips of small captioned overlays, as pure arrays (numpy and Pillow, on `compose`):
the map at every depth of the layer menu, and the sanity check's maps from the original
model to the fully random one. What the page shows and what `snapshot()` appends."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from cam_widgets import render
from cam_widgets.viewer import compose

CELL = 112  # pixels of one small overlay's side in the snapshot
PAGE_CELL = 96  # ... and on the page (its picture's CSS width)
GAP = 4


def small_overlay(image: np.ndarray, values: np.ndarray, colormap: str, opacity: float,
                  side: int = CELL) -> np.ndarray:
    """The map (h, w) in [0, 1] over the image (RGBA), each stretched to its own range, at
    `side` x `side`: both are resized first (bilinear), so a strip of many maps colours
    and blends small pictures only."""
    values = render.resize(values, (side, side))
    scale = compose.colour_scale(values, False, colormap, "map")
    return compose.blend_overlay(small_picture(image, side), compose.heatmap(values, scale),
                                 opacity)


def small_picture(image: np.ndarray, side: int = CELL) -> np.ndarray:
    """The image (RGBA) at `side` x `side` (bilinear); as it is when it has that size
    already (resize it once for a strip of many overlays)."""
    if image.shape[:2] == (side, side):
        return image
    return np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(
        (side, side), Image.BILINEAR))


def strip(cells: Sequence[np.ndarray], captions: Sequence[Sequence[str]], width: int,
          title: str) -> np.ndarray:
    """Cells (equal squares) each over its caption lines, wrapped into rows that fit in
    `width` pixels, under a `title` line: opaque RGBA."""
    side = cells[0].shape[1]
    blocks = [np.concatenate([cell, compose.text_block(list(lines), side, font_size=11)])
              for cell, lines in zip(cells, captions)]
    tall = max(b.shape[0] for b in blocks)
    per_row = max(1, (width + GAP) // (side + GAP))
    rows = []
    for start in range(0, len(blocks), per_row):
        row = [np.pad(b, ((0, tall - b.shape[0]), (0, GAP), (0, 0)), constant_values=255)
               for b in blocks[start:start + per_row]]
        line = np.concatenate(row, axis=1)
        rows.append(np.pad(line, ((0, GAP), (0, max(0, width - line.shape[1])), (0, 0)),
                           constant_values=255)[:, :width])
    return np.concatenate([compose.text_block([title], width)] + rows, axis=0)


SANITY_TITLE = ("sanity check: layers randomised from the top "
                "(rank correlation of |map| with the original)")


def sanity_cells(check: Any, image: np.ndarray, colormap: str,
                 opacity: float) -> tuple[list[np.ndarray], list[list[str]]]:
    """The sanity check's strip for its first image: the original map and each step's,
    over `image`, captioned with the randomised layer and the rank correlation of |map|
    with the original (Adebayo et al. 2018)."""
    image = small_picture(image)
    cells = [small_overlay(image, m[0], colormap, opacity) for m in check.maps]
    captions = [["original", "rank corr 1"]]
    for step, path in enumerate(check.layers):
        name = path.rsplit("/", 1)[-1]
        captions.append([f"+{name}" if check.cascade else name,
                         f"rank corr {check.spearman_abs[step, 0]:.2f}"])
    return cells, captions


def below(figure: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """`extra` under `figure`, both padded with white to the wider one's width."""
    width = max(figure.shape[1], extra.shape[1])
    pad = [np.pad(a, ((0, 0), (0, width - a.shape[1]), (0, 0)), constant_values=255)
           for a in (figure, extra)]
    return np.concatenate(pad, axis=0)
