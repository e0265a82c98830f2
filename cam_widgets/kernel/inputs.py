"""Turning what users pass as images into validated float32 batches, one per input."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

ImagesLike = Any  # array/tensor (B,H,W,C) or (H,W,C), PIL image, path, or a list per input


def _input_shapes(model: keras.Model) -> list[tuple[int | None, ...]]:
    return [tuple(ref.shape) for ref in model.inputs]


def _load(image: Any, channels: int | None) -> np.ndarray:
    """A PIL image or an image file path -> (H, W, C) float32 array."""
    if isinstance(image, (str, os.PathLike)):
        if not os.path.exists(image):
            raise ValueError(f"Image file {os.fspath(image)!r} does not exist.")
        with Image.open(image) as opened:
            image = opened.copy()
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels or 3, image.mode)
    array = np.asarray(image.convert(mode), np.float32)
    return array[..., None] if array.ndim == 2 else array


def _as_batch(images: Any, expected: tuple[int | None, ...], index: int) -> np.ndarray:
    if isinstance(images, (str, os.PathLike, Image.Image)):
        images = _load(images, expected[-1])
    if isinstance(images, tf.Tensor):
        images = images.numpy()
    try:
        batch = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"Images for input {index} must be a numeric array, tensor, PIL image or "
            f"path; got {type(images).__name__} ({error})."
        ) from None
    if batch.ndim == len(expected) - 1:
        batch = batch[None]
    if batch.ndim != len(expected):
        raise ValueError(
            f"Input {index} expects images of shape (batch, {', '.join(map(str, expected[1:]))})"
            f" or one image of shape {tuple(expected[1:])}; got an array of shape "
            f"{batch.shape}."
        )
    mismatch = [axis for axis, want in enumerate(expected[1:], 1)
                if want is not None and batch.shape[axis] != want]
    if mismatch:
        raise ValueError(
            f"Input {index} expects images of shape {tuple(expected[1:])} (height, width, "
            f"channels); got {batch.shape[1:]}. Resize the images (or preprocess them) "
            "to the model's input size."
        )
    if batch.shape[0] == 0:
        raise ValueError(f"Input {index} got an empty batch (0 images).")
    bad = ~np.isfinite(batch)
    if bad.any():
        raise ValueError(
            f"Input {index} has {int(bad.sum())} non-finite values (NaN or inf); "
            "attributions of such images are meaningless. Clean or re-scale them."
        )
    return batch


def as_input_batches(model: keras.Model, images: ImagesLike) -> list[np.ndarray]:
    """Validated float32 batches, one per model input, all with the same batch size."""
    shapes = _input_shapes(model)
    if len(shapes) == 1:
        given: Sequence[Any] = [images]
    elif isinstance(images, (list, tuple)) and len(images) == len(shapes):
        given = images
    else:
        count = len(images) if isinstance(images, (list, tuple)) else 1
        raise ValueError(
            f"Model {model.name!r} has {len(shapes)} inputs; pass a list with one image "
            f"batch per input (got {count})."
        )
    batches = [_as_batch(item, shape, index)
               for index, (item, shape) in enumerate(zip(given, shapes))]
    sizes = {batch.shape[0] for batch in batches}
    if len(sizes) > 1:
        raise ValueError(
            f"All inputs need the same number of images; got batch sizes "
            f"{[batch.shape[0] for batch in batches]}."
        )
    return batches
