"""Regions of a segmentation model's output, as the viewer handles them (numpy only).

A region is a rectangle ``(x0, y0, x1, y1)`` in the pixels of the image as shown (the
image panel, `CamViewer.panels()`), ends excluded. The kernel wants a mask at the model
output's resolution (`SegmentationTarget(class_index, mask=...)`, Seg-Grad-CAM of
Vinogradova et al. 2020): an output pixel is in the region when its centre, mapped to
the shown image, lies inside the rectangle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Region", "DenseOutput", "check_region", "from_drag", "region_mask",
           "pixel_shares", "clipped"]

Region = tuple[int, int, int, int]


@dataclass(frozen=True)
class DenseOutput:
    """What the viewer needs of a dense (segmentation) output: its class count and its
    (height, width) when fixed."""

    classes: int
    size: tuple[int | None, int | None]


def check_region(value: Any) -> Region | None:
    """None, or four whole numbers x0 < x1, y0 < y1, all >= 0; else a ValueError that
    says what a region is."""
    if value is None:
        return None
    try:
        numbers = [int(v) for v in value]
        whole = all(float(v) == n for v, n in zip(value, numbers))
    except (TypeError, ValueError):
        numbers, whole = [], False
    if len(numbers) != 4 or not whole or min(numbers) < 0 \
            or numbers[0] >= numbers[2] or numbers[1] >= numbers[3]:
        raise ValueError(
            "region must be None or (x0, y0, x1, y1) in pixels of the image as shown, "
            f"whole numbers >= 0 with x0 < x1 and y0 < y1 (ends excluded); got {value!r}")
    return tuple(numbers)  # type: ignore[return-value]


def clipped(region: Region, shown: tuple[int, int]) -> Region | None:
    """`region` cut to a shown image of (height, width); None when nothing is left."""
    height, width = shown
    x0, y0, x1, y1 = min(region[0], width), min(region[1], height), \
        min(region[2], width), min(region[3], height)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def from_drag(start: tuple[float, float], end: tuple[float, float],
              shown: tuple[int, int]) -> Region | None:
    """The rectangle a mouse drag from `start` to `end` (x, y in shown pixels) covers:
    every pixel it touches, cut to the image. None for a click (a drag shorter than 2%
    of the image's longer side, and at least one pixel)."""
    height, width = shown
    least = max(1.0, 0.02 * max(height, width))
    if abs(end[0] - start[0]) < least and abs(end[1] - start[1]) < least:
        return None
    x0, x1 = sorted((start[0], end[0]))
    y0, y1 = sorted((start[1], end[1]))
    box = (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
           int(np.floor(x1)) + 1, int(np.floor(y1)) + 1)
    return clipped(box, shown)


def region_mask(region: Region, shown: tuple[int, int], output: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 mask at the output's resolution: 1 where an output pixel's centre
    falls in `region` (shown pixels). A region thinner than one output pixel keeps the
    output pixel under its centre, so a drawn region is never empty."""
    height, width = shown
    rows, cols = output
    x0, y0, x1, y1 = region
    centre_y = (np.arange(rows) + 0.5) * height / rows
    centre_x = (np.arange(cols) + 0.5) * width / cols
    inside_y = (centre_y >= y0) & (centre_y < y1)
    inside_x = (centre_x >= x0) & (centre_x < x1)
    if not inside_y.any():
        inside_y[min(int((y0 + y1) / 2 * rows / height), rows - 1)] = True
    if not inside_x.any():
        inside_x[min(int((x0 + x1) / 2 * cols / width), cols - 1)] = True
    return (inside_y[:, None] & inside_x[None, :]).astype(np.float32)


def pixel_shares(output: np.ndarray) -> np.ndarray:
    """(K,) the share of pixels each class is predicted on, from one image's dense output
    (H, W, K) (argmax), or (H, W) / (H, W, 1) for one sigmoid channel (above 0.5 for
    probabilities, above 0 for logits)."""
    values = np.asarray(output, np.float32)
    if values.ndim == 3 and values.shape[-1] > 1:
        best = values.argmax(axis=-1)
        return np.bincount(best.ravel(), minlength=values.shape[-1]) / best.size
    values = values.reshape(values.shape[:2])
    threshold = 0.5 if values.min() >= 0.0 and values.max() <= 1.0 else 0.0
    return np.array([(values > threshold).mean()], np.float64)
