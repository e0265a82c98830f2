"""Pixels: turn images and attribution maps into RGBA uint8 arrays (numpy, Pillow, matplotlib).

Everything the viewer draws comes from here, so what the canvases were sent, what
``snapshot()`` returns and what a test reads are the same arrays. No TensorFlow, no widgets.

Display conventions
-------------------
- A uint8 image is shown as is. A float image is read by its range: values in [0, 1] are
  scaled by 255, values in [0, 255] are rounded, anything else (e.g. an already
  preprocessed, zero-centred array) is min-max stretched to [0, 255] (clipped if constant).
- Grey images ((H, W) or (H, W, 1)) are repeated to RGB; an alpha channel is dropped.
- Colormaps are matplotlib's own (``matplotlib.colormaps[name]``), never hand-written.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import matplotlib
import numpy as np
from PIL import Image

from cam_widgets.images import CHANNEL_MODES, is_file_or_pil, read_image

__all__ = [
    "COLORMAPS",
    "load_image",
    "to_rgb8",
    "to_rgba8",
    "resize",
    "colorize",
    "blend",
    "side_by_side",
    "encode_png",
    "encode_indexed_png",
    "fit_display",
]

#: Colormaps offered by the viewer, in menu order (all ship with matplotlib).
COLORMAPS: tuple[str, ...] = (
    "jet",
    "viridis",
    "inferno",
    "turbo",
    "gray",
    "magma",
    "plasma",
    "cividis",
    "RdBu_r",
    "coolwarm",
)

#: zlib level for interactive repaints: Pillow at level 1 encodes a 224x224 RGBA photo
#: overlay in ~1-9 ms, several times faster than its default level. Lossless either way.
FAST_PNG_LEVEL = 1


def load_image(image: Any, mode: str = "RGB") -> np.ndarray:
    """Return one image as a numpy array, without changing its values.

    Accepts an array-like (H, W), (H, W, C) (any dtype, returned as given), a PIL image or
    a path (read by `cam_widgets.images.read_image` and converted to ``mode``, "L", "RGB"
    or "RGBA", uint8; "L" gives (H, W)).
    """
    if is_file_or_pil(image):
        channels = {mode: count for count, mode in CHANNEL_MODES.items()}.get(mode)
        if channels is None:
            raise ValueError(f"mode must be one of {', '.join(CHANNEL_MODES.values())}; "
                             f"got {mode!r}")
        array = read_image(image, channels)
        return array[..., 0] if channels == 1 else array
    array = np.asarray(image)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(
            f"expected an image array, a PIL image or a path, got {type(image).__name__}"
        )
    if array.ndim == 3 and array.shape[-1] not in CHANNEL_MODES:
        raise ValueError(
            f"an image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape {array.shape}"
        )
    if array.ndim not in (2, 3) or min(array.shape[:2]) < 1:
        raise ValueError(
            f"an image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape {array.shape}"
        )
    return array


def to_rgb8(image: Any) -> np.ndarray:
    """Convert one image to (H, W, 3) uint8 for display (see the module's conventions)."""
    array = load_image(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[-1] == 4:
        array = array[..., :3]
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    values = array.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        raise ValueError("the image contains NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if array.dtype == bool or (low >= 0.0 and high <= 1.0):
        values = values * 255.0
    elif low >= 0.0 and high <= 255.0:
        pass
    elif high > low:
        values = (values - low) * (255.0 / (high - low))
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def to_rgba8(rgb: np.ndarray, alpha: int = 255) -> np.ndarray:
    """Append a constant alpha channel to an (H, W, 3) uint8 image."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    out = np.empty(rgb.shape[:2] + (4,), dtype=np.uint8)
    out[..., :3] = rgb[..., :3]
    out[..., 3] = alpha
    return out


def resize(
    attribution: np.ndarray, size: tuple[int, int], resample: str = "bilinear"
) -> np.ndarray:
    """Resize a 2-D float map to ``size`` = (H, W) with Pillow (float mode, no 8-bit rounding)."""
    values = np.asarray(attribution, dtype=np.float32)
    height, width = int(size[0]), int(size[1])
    if values.shape == (height, width):
        return values
    filters = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST, "bicubic": Image.BICUBIC}
    if resample not in filters:
        raise ValueError(f"resample must be one of {sorted(filters)}, got {resample!r}")
    resized = Image.fromarray(np.ascontiguousarray(values)).resize(
        (width, height), filters[resample]
    )
    return np.asarray(resized, dtype=np.float32)


@lru_cache(maxsize=None)
def _colormap(name: str) -> matplotlib.colors.Colormap:
    try:
        return matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(f"unknown colormap {name!r}; try one of {list(COLORMAPS)}") from None


def colorize(attribution01: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """Map a [0, 1] 2-D map through a matplotlib colormap to opaque RGBA uint8 (H, W, 4)."""
    values = np.asarray(attribution01, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"an attribution map must be 2-D (H, W), got shape {values.shape}")
    rgba = _colormap(cmap)(np.clip(values, 0.0, 1.0), bytes=True)
    rgba[..., 3] = 255
    return rgba


def blend(base: np.ndarray, top: np.ndarray, opacity: float) -> np.ndarray:
    """Overlay ``top`` on ``base`` (both (H, W, 4) uint8): ``(1 - opacity) * base + opacity * top``.

    Rounded to the nearest level; the result is opaque.
    """
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    base = np.asarray(base, dtype=np.uint8)
    top = np.asarray(top, dtype=np.uint8)
    if base.shape != top.shape or base.ndim != 3 or base.shape[-1] != 4:
        raise ValueError(
            f"blend needs two (H, W, 4) arrays of one shape, got {base.shape} and {top.shape}"
        )
    a = np.float32(opacity)
    mixed = (
        base[..., :3].astype(np.float32) * (np.float32(1.0) - a)
        + top[..., :3].astype(np.float32) * a
    )
    out = np.empty_like(base)
    np.rint(mixed, out=mixed)
    out[..., :3] = mixed
    out[..., 3] = 255
    return out


def side_by_side(*panels: np.ndarray) -> np.ndarray:
    """Concatenate equally tall (H, W, 4) panels left to right."""
    return np.concatenate([np.asarray(p, dtype=np.uint8) for p in panels], axis=1)


def encode_png(rgba: np.ndarray, compress_level: int = 6) -> bytes:
    """Encode an (H, W, 4) uint8 array as a lossless 8-bit RGBA PNG (Pillow).

    Live repaints use `FAST_PNG_LEVEL`.
    """
    rgba = np.asarray(rgba)
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[-1] != 4:
        raise ValueError(f"encode_png needs (H, W, 4) uint8, got {rgba.dtype} {rgba.shape}")
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def encode_indexed_png(indices: np.ndarray, palette: np.ndarray,
                       compress_level: int = 6) -> bytes:
    """Encode (H, W) uint8 colour indices with a (256, 3|4) uint8 palette as a lossless
    palette PNG (Pillow): decoded, pixel (i, j) is ``palette[indices[i, j]]``. A quarter of
    the bytes an RGBA PNG compresses, for pictures of at most 256 colours (heatmaps)."""
    indices = np.asarray(indices)
    palette = np.asarray(palette, dtype=np.uint8)
    if indices.dtype != np.uint8 or indices.ndim != 2:
        raise ValueError(f"encode_indexed_png needs (H, W) uint8, got {indices.dtype} {indices.shape}")
    if palette.ndim != 2 or palette.shape[0] > 256 or palette.shape[1] not in (3, 4):
        raise ValueError(f"the palette must be (<= 256, 3 or 4) uint8, got {palette.shape}")
    image = Image.fromarray(indices, mode="P")
    image.putpalette(np.ascontiguousarray(palette[:, :3]).tobytes())
    if palette.shape[1] == 4 and (palette[:, 3] != 255).any():
        image.info["transparency"] = bytes(palette[:, 3])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def fit_display(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink an (H, W, 3) uint8 image so its longer side is at most ``max_side`` (Lanczos)."""
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))
