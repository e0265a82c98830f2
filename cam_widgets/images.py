"""Reading images, once for the whole package (numpy and Pillow; no TensorFlow, no Keras).

- `read_image`: a path, a PIL image or an array (a tensor too) -> one (H, W, C) array;
  files and PIL images are decoded by Pillow to the channels the model takes
  (`CHANNEL_MODES`), arrays keep their values and dtype.
- `split_images`: the one-image-or-batch rule, so `explain`, the viewer, the audit and
  the gallery agree on what one image is.
- `channel_advice`: what to do when an image has the wrong number of channels.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

#: The Pillow mode an image file is decoded to, per channel count the model takes.
CHANNEL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
#: How a channel count is called in messages.
CHANNEL_KINDS = {1: "grey", 3: "RGB", 4: "RGBA"}


class ImageFileError(ValueError):
    """An image file that cannot be read: missing, not an image, corrupt or truncated,
    or larger than Pillow's decompression-bomb limit."""


def is_file_or_pil(item: Any) -> bool:
    """A path or a PIL image: one image to decode."""
    return isinstance(item, (str, os.PathLike, Image.Image))


def _is_array_like(item: Any) -> bool:
    """A numpy array or a tensor of any framework (a shape with axes, and a dtype)."""
    return hasattr(item, "dtype") and len(getattr(item, "shape", ())) > 0


def _numpy(item: Any) -> Any:
    """A tensor (TensorFlow, torch, ...) as numpy; anything else as it is."""
    if isinstance(item, np.ndarray):
        return item
    if callable(getattr(item, "numpy", None)):  # TensorFlow, torch (on the CPU)
        return item.numpy()
    if hasattr(item, "__array__") and hasattr(item, "shape"):  # JAX and other arrays
        return np.asarray(item)
    return item


def _decode(path: str | os.PathLike, mode: str) -> Image.Image:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise ImageFileError(f"cannot read image file {name!r}: it does not exist.")
    try:
        with Image.open(name) as opened:
            opened.load()  # a truncated or corrupt file fails here, not later
            return opened.convert(mode)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageFileError(
            f"cannot read image file {name!r} ({type(error).__name__}: {error})") from None


def read_image(image: Any, channels: int | None = None,
               size: tuple[int, int] | None = None) -> np.ndarray:
    """One image -> an (H, W, C) array.

    A path or a PIL image is decoded by Pillow to `channels` (1: grey "L", 3: "RGB",
    4: "RGBA"; None or another count: RGB) as uint8 and, when `size` (height, width)
    is given, resized to it (bilinear). An unreadable file raises `ImageFileError`
    naming the file and the cause. An array or tensor keeps its values and dtype: an
    (H, W) array gets a channel axis, anything else is returned as it is (the caller
    checks its shape against the model).
    """
    mode = CHANNEL_MODES.get(channels or 3, "RGB")
    if isinstance(image, (str, os.PathLike)):
        image = _decode(image, mode)
    if isinstance(image, Image.Image):
        image = image if image.mode == mode else image.convert(mode)
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.BILINEAR)
    array = np.asarray(_numpy(image))
    return array[..., None] if array.ndim == 2 else array


def is_one_image(shape: Sequence[int], channels: int | None) -> bool:
    """Whether an array of `shape` is one image (else a batch).

    (H, W) is one grey image. (H, W, C) is one image when its last axis is a channel
    count (1, 3 or 4; for a 1-channel model only 1), else a (B, H, W) batch of grey
    images. Anything with more axes is a batch.
    """
    if len(shape) == 2:
        return True
    if len(shape) == 3:
        return shape[-1] == channels or (channels in (None, 3, 4) and shape[-1] in CHANNEL_MODES)
    return False


def split_images(images: Any, channels: int | None = None) -> list[Any]:
    """One image or a batch -> a list of single images (not yet read).

    A list or tuple of images (paths, PIL images, arrays or tensors), a 4-D array, and
    a 3-D array whose last axis is not a channel count are batches; a path, a PIL
    image, an (H, W) array and an (H, W, C) array are one image (`is_one_image`).
    `channels` is what the model takes.
    """
    images = _numpy(images)
    if is_file_or_pil(images):
        return [images]
    if isinstance(images, (list, tuple)) and images and (
            is_file_or_pil(images[0]) or _is_array_like(images[0])):
        return list(images)
    array = np.asarray(images)
    return [array] if is_one_image(array.shape, channels) else list(array)


def channel_advice(got: int, want: int) -> str:
    """One sentence on turning images of `got` channels into the `want` a model takes."""
    if got == 4 and want == 3:
        return ("Drop the alpha channel: `images[..., :3]` (for a PIL image, "
                "`image.convert('RGB')`).")
    if got == 1 and want == 3:
        return "Repeat the grey channel: `np.repeat(images, 3, axis=-1)`."
    if got in (3, 4) and want == 1:
        return ("Convert to grey: `images[..., :3] @ np.array([0.299, 0.587, 0.114])` "
                "(then add a channel axis), or `image.convert('L')` for a PIL image.")
    return f"Give images with {want} channel(s)."
