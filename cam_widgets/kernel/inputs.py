"""Turning what users pass as images into validated float32 batches, one per input.

The one-image-or-batch rule and image loading live here, once: `split_images` and
`load_image` are public so the viewer reads a `show()` argument exactly as `explain`
reads its `images`.
"""
from __future__ import annotations

import os
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from PIL import Image

from cam_widgets.kernel.graph import leaf_calls

ImagesLike = Any  # array/tensor (B,H,W,C) or (H,W,C), PIL image, path, or a list per input
_CHANNEL_COUNTS = (1, 3, 4)
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def _is_file_or_pil(item: Any) -> bool:
    return isinstance(item, (str, os.PathLike, Image.Image))


def _numpy(item: Any) -> Any:
    # a tensor of any backend (a tf.data batch on JAX too) becomes an array
    return np.asarray(item) if _is_tensor(item) else item


def _is_tensor(item: Any) -> bool:
    return (not isinstance(item, np.ndarray) and hasattr(item, "shape")
            and hasattr(item, "__array__"))


def load_image(image: Any, channels: int | None = None) -> np.ndarray:
    """One image -> (H, W, C) array in its own dtype (uint8 for a file or PIL image).

    A path or PIL image is read with Pillow and converted to `channels` (1: grey, 3:
    RGB, 4: RGBA; None keeps RGB); an (H, W) array gets a channel axis; an (H, W, C)
    array or tensor is returned as it is.
    """
    if isinstance(image, (str, os.PathLike)):
        if not os.path.exists(image):
            raise ValueError(f"Image file {os.fspath(image)!r} does not exist.")
        try:
            with Image.open(image) as opened:
                image = opened.copy()
        except OSError as error:
            raise ValueError(f"Cannot read image file {os.fspath(image)!r}: {error}") from None
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert(_PIL_MODES.get(channels or 3, "RGB")))
    array = np.asarray(_numpy(image))
    return array[..., None] if array.ndim == 2 else array


def _one_image(shape: tuple[int, ...], channels: int | None) -> bool:
    """Whether an array of `shape` is one image (else a batch)."""
    if len(shape) == 2:
        return True
    if len(shape) == 3:  # (H, W, C) when the last axis is a channel count, else (B, H, W)
        return shape[-1] == channels or (channels in (None, 3, 4) and shape[-1] in _CHANNEL_COUNTS)
    return False


def split_images(images: Any, channels: int | None = None) -> list[Any]:
    """One image or a batch -> a list of single images (not yet loaded).

    A list or tuple of images, a 4-D array, and a 3-D array whose last axis is not a
    channel count (a (B, H, W) batch of grey images) are batches; a path, a PIL image,
    an (H, W) array and an (H, W, C) array are one image. `channels` is what the model
    takes: for a 1-channel model a 3-D array is one image only if its last axis is 1.
    """
    images = _numpy(images)
    if _is_file_or_pil(images):
        return [images]
    if isinstance(images, (list, tuple)) and images and (
            _is_file_or_pil(images[0]) or isinstance(images[0], np.ndarray) or _is_tensor(images[0])):
        return list(images)
    array = np.asarray(images)
    return [array] if _one_image(array.shape, channels) else list(array)


def _channel_advice(got: int, want: int) -> str:
    if got == 4 and want == 3:
        return ("Drop the alpha channel: `images[..., :3]` (for a PIL image, "
                "`image.convert('RGB')`).")
    if got == 1 and want == 3:
        return "Repeat the grey channel: `np.repeat(images, 3, axis=-1)`."
    if got in (3, 4) and want == 1:
        return ("Convert to grey: `images[..., :3] @ np.array([0.299, 0.587, 0.114])` "
                "(then add a channel axis), or `image.convert('L')` for a PIL image.")
    return f"Give images with {want} channel(s)."


def _stacked(images: Any, expected: tuple[int | None, ...]) -> np.ndarray:
    """Images of one input as one float32 array: the one-image-or-batch rule for image
    inputs (batch, height, width, channels), a missing batch axis added for others."""
    if len(expected) != 4:
        array = np.asarray(_numpy(images), np.float32)
        return array[None] if array.ndim == len(expected) - 1 else array
    items = split_images(images, expected[-1])
    if not items:
        return np.zeros((0, *(size or 1 for size in expected[1:])), np.float32)
    return np.stack([np.asarray(load_image(item, expected[-1]), np.float32) for item in items])


def _as_batch(images: Any, expected: tuple[int | None, ...], index: int) -> np.ndarray:
    channels = expected[-1]
    try:
        batch = _stacked(images, expected)
    except (TypeError, ValueError) as error:
        if "does not exist" in str(error) or "Cannot read" in str(error):
            raise
        raise TypeError(
            f"Images for input {index} must be a numeric array, tensor, PIL image, path "
            f"or a list of them, all of one shape; got {type(images).__name__} ({error})."
        ) from None
    if batch.ndim != len(expected):
        raise ValueError(
            f"Input {index} expects images of shape (batch, {', '.join(map(str, expected[1:]))})"
            f" or one image of shape {tuple(expected[1:])}; got an array of shape "
            f"{np.shape(_numpy(images))}."
        )
    if len(expected) != 4 and any(want not in (None, got)
                                  for want, got in zip(expected[1:], batch.shape[1:])):
        raise ValueError(
            f"Input {index} expects arrays of shape {tuple(expected[1:])}; got "
            f"{batch.shape[1:]}."
        )
    size_off = [axis for axis in (1, 2) if len(expected) == 4
                and expected[axis] not in (None, batch.shape[axis])]
    if size_off:
        raise ValueError(
            f"Input {index} expects images of shape {tuple(expected[1:])} (height, width, "
            f"channels); got {batch.shape[1:]}. Resize the images (or preprocess them) "
            "to the model's input size."
        )
    if len(expected) == 4 and channels is not None and batch.shape[-1] != channels:
        raise ValueError(
            f"Input {index} expects images of shape {tuple(expected[1:])}: {channels} "
            f"channel(s); got {batch.shape[1:]}, {batch.shape[-1]} channel(s). "
            + _channel_advice(batch.shape[-1], channels)
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
    shapes = [tuple(ref.shape) for ref in model.inputs]
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


_WARNED_UNSCALED: weakref.WeakSet = weakref.WeakSet()
_RESCALERS = (keras.layers.Rescaling, keras.layers.Normalization)


def _rescales_at_front(model: keras.Model, input_index: int) -> bool:
    """Whether something that may rescale pixels runs on the input before the first
    layer with trainable weights: a Rescaling/Normalization layer, a Lambda, a custom
    layer or a bare operation (`x / 255.`)."""
    for call in leaf_calls(model):
        if input_index not in call.inputs_used or isinstance(call.layer, keras.layers.InputLayer):
            continue
        layer = call.layer
        if isinstance(layer, (*_RESCALERS, keras.layers.Lambda)) or not isinstance(
                layer, keras.layers.Layer) or not type(layer).__module__.startswith("keras"):
            return True
        if layer.trainable_weights:
            return False
    return False


def warn_if_unscaled(model: keras.Model, batch: np.ndarray, input_index: int) -> None:
    """Warn once per model when 0..255 pixel values go to a model with no rescaling at
    its front (a likely forgotten `preprocess_input` or `/ 255`)."""
    if model in _WARNED_UNSCALED or batch.min() < 0 or not 32 <= batch.max() <= 255:
        return
    if not np.array_equal(batch, np.round(batch)) or _rescales_at_front(model, input_index):
        return
    _WARNED_UNSCALED.add(model)
    warnings.warn(
        f"The images for input {input_index} hold whole numbers up to {batch.max():.0f} "
        f"(0..255 pixels?), and model {model.name!r} does not rescale them before its "
        "first weights. If it was trained on scaled inputs, apply its preprocessing "
        "(e.g. `images / 255` or the application's `preprocess_input`) first. (Shown "
        "once per model.)",
        UserWarning,
        stacklevel=3,
    )
