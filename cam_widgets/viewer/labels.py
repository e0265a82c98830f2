"""Words the viewer shows: class names, the caption of each method's map, status lines."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cam_widgets.viewer.compose import format_value

_SIGNED_SUFFIX = "; with guided ReLU the map is signed: red raises the score, blue lowers it"


def method_caption(method: Any, signed: bool) -> str:
    """One line saying what the map of `method` means (its contract's `caption`), and
    that it is signed when guided gradients made it so."""
    if signed and not method.signed_map(False):
        return method.caption + _SIGNED_SUFFIX
    return method.caption


class ClassNames:
    """Class index -> name, from a list, a mapping, a decoder callable or "imagenet".

    A callable is used like keras.applications' ``decode_predictions(preds, top=k)``.
    "imagenet" is that decoder (its names file is fetched once by Keras and cached).
    A source that fails (offline, another shape) is tried once; `notice` then says so
    and every class is called by its index. Whatever the source prints is swallowed.
    """

    def __init__(self, source: Sequence[str] | Mapping[int, str] | Callable[..., Any] | str | None):
        self.notice = ""
        self._source = source
        self._names: dict[int, str] | None = None
        if isinstance(source, str):
            if source != "imagenet":
                raise ValueError(
                    f'class_names must be a list, a dict, a callable or "imagenet"; got {source!r}'
                )
        elif source is not None and not (callable(source) or isinstance(source, (Mapping, Sequence))):
            raise TypeError(
                "class_names must be a list, a dict {index: name}, a decoder callable or "
                f'"imagenet"; got {type(source).__name__}'
            )

    def _decode_all(self, n_classes: int) -> dict[int, str]:
        decoder = self._source
        if decoder == "imagenet":
            from keras.applications.imagenet_utils import decode_predictions

            decoder = decode_predictions
        scores = np.linspace(1.0, 0.0, n_classes, endpoint=False, dtype=np.float32)[None]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rows = decoder(scores, top=n_classes)[0]
        names = {}
        for rank, entry in enumerate(rows):
            name = entry[1] if isinstance(entry, (tuple, list)) and len(entry) > 1 else entry
            names[rank] = str(name)
        return names

    def __call__(self, index: int, n_classes: int | None) -> str:
        fallback = f"class {index}"
        source = self._source
        if source is None:
            return fallback
        if isinstance(source, Mapping):
            return str(source.get(index, fallback))
        if isinstance(source, Sequence) and not isinstance(source, str):
            return str(source[index]) if 0 <= index < len(source) else fallback
        if self._names is None:
            try:
                self._names = self._decode_all(max(n_classes or 0, index + 1))
            except Exception as e:  # offline, or a decoder for another number of classes
                self._names = {}
                what = "ImageNet names" if source == "imagenet" else "class names"
                self.notice = f"could not load {what} ({type(e).__name__}); showing class indices"
        return self._names.get(index, fallback)


def layer_size(info: Any) -> str:
    """A layer's spatial size for menus: "14×14", or "8×8 tokens" for a token layer (its
    patch grid, `LayerInfo.grid`), rather than its (tokens, width) shape."""
    if getattr(info, "grid", None) is not None:
        return f"{info.grid[0]}×{info.grid[1]} tokens"
    return "×".join(map(str, info.output_shape[1:3]))


def probability_text(value: float) -> str:
    return format_value(float(value))


