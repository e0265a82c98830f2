"""The viewer's settings, images and bounded caches (no widgets, no TensorFlow)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from cam_widgets import render
from cam_widgets.images import CHANNEL_KINDS, channel_advice, read_image, split_images

#: What each setting changes: "recompute" asks the kernel for a new map, "repaint" only
#: redraws the map already computed.
RECOMPUTE, REPAINT = "recompute", "repaint"
EFFECTS: dict[str, str] = {
    "image_index": RECOMPUTE,
    "input_index": RECOMPUTE,
    "layer": RECOMPUTE,
    "target": RECOMPUTE,
    "method": RECOMPUTE,
    "guided": RECOMPUTE,
    "options": RECOMPUTE,
    "region": RECOMPUTE,
    "opacity": REPAINT,
    "colormap": REPAINT,
    "scale": REPAINT,
}


@dataclass(frozen=True)
class Settings:
    """Everything the view depends on (`EFFECTS` says which fields recompute)."""

    image_index: int = 0
    input_index: int = 0
    layer: Any = None  # None = the kernel's default; a path once resolved
    target: Any = None  # None = the top prediction; an int class; or a callable
    method: str = "gradcam"
    guided: bool = False
    opacity: float = 0.5
    colormap: str = "auto"  # "auto": jet for maps >= 0, a diverging map for signed ones
    scale: str = "map"  # "map": each map to its own peak; "shared": one scale per image/layer
    options: tuple[tuple[str, Any], ...] = ()  # the method's declared options given, sorted
    region: tuple[int, int, int, int] | None = None  # segmentation: (x0, y0, x1, y1) shown px


    @classmethod
    def of(cls, owner: Any) -> Settings:
        """The settings `owner` holds in attributes of the same names (a `CamViewer`'s
        traits; its `options` a dict)."""
        values = {f.name: getattr(owner, f.name) for f in fields(cls)}
        values["options"] = tuple(sorted(dict(owner.options).items()))
        return cls(**values)

    def key(self, uses_layer: bool) -> tuple[Hashable, ...]:
        """The cache key of the map these settings produce."""
        layer = self.layer if uses_layer else None
        return (self.image_index, self.input_index, layer, self.target, self.method,
                bool(self.guided), self.options, self.region)


class LRU:
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max(1, int(max_size))
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[Hashable, Any]]:
        return list(self._items.items())

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items


def resize_notice(given: tuple[int, int], model: tuple[int, int]) -> str:
    """The status line's word on a resize, in width×height (Pillow's `size` order), saying
    so when the photo was squashed (its aspect ratio changed by more than 1%)."""
    (h0, w0), (h1, w1) = given, model
    text = (f"image resized from {w0}×{h0} to {w1}×{h1} (width×height, bilinear), the "
            "model's input")
    if abs(w0 * h1 - w1 * h0) > 0.01 * w1 * h0:
        ratio = math.gcd(w1, h1)
        text += (f"; squashed from aspect {w0 / h0:.2f} to {w1 / h1:.2f}: crop it to "
                 f"{w1 // ratio}:{h1 // ratio} first to keep its shapes")
    return text


class ImageSet:
    """The images of one `show()`: raw arrays per input, display RGB, preprocessed inputs.

    Items load lazily, so one bad image shows an error only when it is selected.
    `preprocess(batch)` gets a (1, H, W, C) copy of the raw image in its own dtype
    (uint8 for PIL images and paths) and returns the model's input.
    """

    def __init__(
        self,
        images: Any,
        n_inputs: int,
        input_channels: Sequence[int | None],
        preprocess: Callable[[np.ndarray], Any] | None,
        max_display: int,
        input_sizes: Sequence[tuple[int | None, int | None]] | None = None,
    ) -> None:
        if n_inputs > 1:
            if not isinstance(images, (list, tuple)) or len(images) != n_inputs:
                raise ValueError(
                    f"this model has {n_inputs} inputs: pass show() a list with one image "
                    f"(or one batch) per input, got {type(images).__name__}"
                )
            per_input = [split_images(x, channels)
                         for x, channels in zip(images, input_channels)]
            counts = {len(items) for items in per_input}
            if len(counts) != 1:
                raise ValueError(
                    f"every input needs as many images; got {[len(i) for i in per_input]}"
                )
        else:
            per_input = [split_images(images, input_channels[0])]
        if not per_input[0]:
            raise ValueError("show() got no images")
        self._per_input = per_input
        self._channels = list(input_channels)
        self._sizes = list(input_sizes or [(None, None)] * len(per_input))
        self.notices: dict[int, str] = {}  # image index -> what was done to fit the model
        self._preprocess = preprocess
        self._max_display = max_display
        # bounded, so scrolling through a large batch does not keep every image three times
        self._raw, self._display, self._inputs = LRU(64), LRU(64), LRU(16)

    def __len__(self) -> int:
        return len(self._per_input[0])

    @property
    def n_inputs(self) -> int:
        return len(self._per_input)

    def raw(self, index: int, input_index: int = 0) -> np.ndarray:
        key = (index, input_index)
        array = self._raw.get(key)
        if array is None:
            item = self._per_input[input_index][index]
            array = read_image(item, self._channels[input_index])
            self._raw.put(key, array)
        return array

    def display(self, index: int, input_index: int = 0) -> np.ndarray:
        """(h, w, 4) uint8: the raw image as shown (at most `max_display` on a side)."""
        key = (index, input_index)
        rgba = self._display.get(key)
        if rgba is None:
            rgb = render.fit_display(
                render.to_rgb8(self.raw(index, input_index)), self._max_display
            )
            rgba = render.to_rgba8(rgb)
            self._display.put(key, rgba)
        return rgba

    def fitted(self, index: int, input_index: int = 0) -> np.ndarray:
        """The raw image at the model's input size (bilinear, with a notice) and with its
        channel count checked (a mismatch is an error that says what to pass instead)."""
        raw = self.raw(index, input_index)
        want = self._channels[input_index]
        got = raw.shape[-1]
        if want is not None and got != want:
            raise ValueError(
                f"the model expects {want} channel(s) ({CHANNEL_KINDS.get(want, want)}), this "
                f"image has {got} ({CHANNEL_KINDS.get(got, got)}). {channel_advice(got, want)}")
        height, width = self._sizes[input_index]
        if height is None or width is None or raw.shape[:2] == (height, width):
            return raw
        resized = np.stack([render.resize(raw[..., c].astype(np.float32), (height, width))
                            for c in range(raw.shape[-1])], axis=-1)
        if raw.dtype == np.uint8:
            resized = np.clip(np.rint(resized), 0, 255).astype(np.uint8)
        self.notices[index] = resize_notice(raw.shape[:2], (height, width))
        return resized.astype(raw.dtype, copy=False)

    def model_inputs(self, index: int) -> list[np.ndarray]:
        """One (1, ...) batch per model input, after `preprocess`."""
        batches = self._inputs.get(index)
        if batches is None:
            batches = []
            for input_index in range(self.n_inputs):
                raw = self.fitted(index, input_index)[None].copy()  # preprocess may write
                if self._preprocess is not None:
                    batch = self._preprocess(raw)
                    batch = batch.numpy() if hasattr(batch, "numpy") else np.asarray(batch)
                else:
                    batch = raw.astype(np.float32)
                batches.append(batch)
            self._inputs.put(index, batches)
        return batches


