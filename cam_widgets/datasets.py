"""Synthetic shape images with known object boxes and masks (teaching, tests, metrics).

Each image holds exactly one object of a class in ``CLASS_NAMES`` on a textured, noisy
background with a few thin lines and small dots as distractors. The object's pixel mask
and tight bounding box are returned with it, so an explanation can be scored against
where the object really is (pointing game, energy inside the box).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = ["CLASS_NAMES", "ShapesBatch", "make_shapes", "shapes_model"]

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "cross")

MIN_SIZE = 32
"""Smallest accepted image side, in pixels."""

_CHUNK = 256  # images rendered at once; bounds memory, part of the determinism contract
_N_LINES = 2  # thin-line distractors per image
_N_DOTS = 3  # small-dot distractors per image
_MODEL_FILE = "shapes_model.keras"


@dataclass(frozen=True)
class ShapesBatch:
    """A batch of synthetic shape images.

    Attributes
    ----------
    images : np.ndarray
        float32 (N, size, size, 3) in [0, 1].
    labels : np.ndarray
        int64 (N,) index into ``CLASS_NAMES``.
    boxes : np.ndarray
        int64 (N, 4) tight object box as (y0, x0, y1, x1), end exclusive.
    masks : np.ndarray
        bool (N, size, size), True on the object's pixels.
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def make_shapes(n: int, seed: int = 0, size: int = 64) -> ShapesBatch:
    """Generate ``n`` shape images; the same ``(n, seed, size)`` gives identical arrays.

    Objects span roughly 14-30 px at ``size=64`` (scaled with ``size``), lie fully inside
    the image, are drawn with a random rotation of up to 30 degrees and always contrast
    with the background. Classes are balanced (counts differ by at most one) and shuffled.
    The draw depends on ``n`` too: ``make_shapes(16, seed)`` is not the first 16 images of
    ``make_shapes(400, seed)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer >= {MIN_SIZE}, got {size!r}")
    n, size = int(n), int(size)
    rng = np.random.default_rng(seed)

    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    images = np.empty((n, size, size, 3), np.float32)
    masks = np.empty((n, size, size), bool)
    for start in range(0, n, _CHUNK):
        chunk = slice(start, start + _CHUNK)
        _render(labels[chunk], rng, out_images=images[chunk], out_masks=masks[chunk])
    return ShapesBatch(images, labels, _tight_boxes(masks), masks)


def shapes_model() -> keras.Model:
    """Load the small CNN trained on ``make_shapes`` (shipped with the package).

    Input (64, 64, 3) floats in [0, 1]; output softmax over ``CLASS_NAMES`` from the
    layer ``"predictions"``; the output of the last conv block (conv -> BN -> ReLU,
    16x16x64) is the layer ``"last_conv"``. The model is not compiled. Each call loads a
    fresh copy from the package data, so callers may modify it freely.
    """
    from cam_widgets._tf_startup import import_keras_quietly

    import_keras_quietly()  # deferred, as Keras: the data generator needs numpy only
    import keras

    with resources.as_file(resources.files("cam_widgets") / "data" / _MODEL_FILE) as path:
        return keras.saving.load_model(path, compile=False)


def _render(
    labels: np.ndarray,
    rng: np.random.Generator,
    out_images: np.ndarray,
    out_masks: np.ndarray,
) -> None:
    """Draw one chunk into the given arrays: background, distractors, object on top.

    Every pixel gets a layer number (0 background, then one per distractor, the object
    last and highest); the colours are looked up once at the end.
    """
    m, size = out_masks.shape[:2]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5  # pixel centres
    yy, xx = yy[None], xx[None]  # (1, S, S) broadcast against (m, 1, 1)

    def per_image(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, (m, 1, 1)).astype(np.float32)

    # Colours: the object's channels are each at least 0.25 away from the background's.
    n_layers = 2 + _N_LINES + _N_DOTS
    bg = rng.uniform(0.1, 0.9, (m, 1, 3))
    delta = rng.uniform(0.25, 0.6, (m, 1, 3))
    palette = np.concatenate(
        [bg, rng.uniform(0, 1, (m, n_layers - 2, 3)), np.where(bg > 0.5, bg - delta, bg + delta)],
        axis=1,
    ).astype(np.float32)
    layer = np.zeros((m, size, size), np.uint8)

    # Distractors: thin lines (about 1 px wide) and dots (radius 1-2 px).
    for k in range(1, 1 + _N_LINES):
        y0, x0, y1, x1 = (per_image(0, size) for _ in range(4))
        dy, dx = y1 - y0, x1 - x0
        length = np.sqrt(dy * dy + dx * dx) + 1e-3
        along = ((yy - y0) * dy + (xx - x0) * dx) / length  # distance along the segment
        across = np.abs((yy - y0) * dx - (xx - x0) * dy) / length
        near = (across < 0.6) & (along >= 0) & (along <= length)
        np.maximum(layer, near * np.uint8(k), out=layer)
    for k in range(1 + _N_LINES, n_layers - 1):
        cy, cx, r = per_image(0, size), per_image(0, size), per_image(1, 2)
        np.maximum(layer, ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) * np.uint8(k), out=layer)

    # Object: half-size h, centred so that any rotation keeps it inside the image.
    h = per_image(7, 15) * np.float32(size / 64)
    reach = np.ceil(h * np.float32(np.sqrt(2))) + 1
    cy = per_image(0, 1) * (size - 2 * reach) + reach
    cx = per_image(0, 1) * (size - 2 * reach) + reach
    angle = per_image(-np.pi / 6, np.pi / 6)
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)  # object frame
    v = (yy - cy) * np.cos(angle) - (xx - cx) * np.sin(angle)
    au, av, arm = np.abs(u), np.abs(v), 0.35 * h
    shape_masks = (
        u * u + v * v <= h * h,  # circle
        (au <= h) & (av <= h),  # square
        (av <= h) & (au <= (v + h) / 2),  # triangle, apex up
        ((au <= h) & (av <= arm)) | ((au <= arm) & (av <= h)),  # cross
    )
    np.choose(labels[:, None, None], shape_masks, out=out_masks)
    np.maximum(layer, out_masks * np.uint8(n_layers - 1), out=layer)

    # Colours by layer, then texture on the background (gradient + stripes) and noise.
    offsets = (np.arange(m) * n_layers)[:, None, None]
    np.take(palette.reshape(-1, 3), layer + offsets, axis=0, out=out_images)
    theta, phase, freq = per_image(0, np.pi), per_image(0, 2 * np.pi), per_image(0.15, 0.6)
    stripes = per_image(0.02, 0.08) * np.sin(
        freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase
    )
    gradient = per_image(-0.15, 0.15) * (yy / size - 0.5) + per_image(-0.15, 0.15) * (
        xx / size - 0.5
    )
    out_images += ((layer == 0) * (stripes + gradient))[..., None]
    noise = rng.random(out_images.shape, dtype=np.float32)
    noise -= 0.5
    noise *= 0.1  # uniform in [-0.05, 0.05]
    out_images += noise
    np.clip(out_images, 0, 1, out=out_images)


def _tight_boxes(masks: np.ndarray) -> np.ndarray:
    """(y0, x0, y1, x1), end exclusive, of the True pixels of each (non-empty) mask."""
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    size_y, size_x = masks.shape[1:]
    y0, x0 = rows.argmax(axis=1), cols.argmax(axis=1)
    y1 = size_y - rows[:, ::-1].argmax(axis=1)
    x1 = size_x - cols[:, ::-1].argmax(axis=1)
    return np.stack([y0, x0, y1, x1], axis=1).astype(np.int64)
