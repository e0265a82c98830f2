"""Class index -> name, from what a user gives as `class_names` (no TensorFlow here:
Keras is imported only to decode "imagenet" names). The viewer and the gallery both
read `class_names` through `ClassNames`."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

IMAGENET_CLASSES = 1000

ClassNamesLike = Sequence[str] | Mapping[int, str] | Callable[..., Any] | str | None


class ClassNames:
    """Class index -> name, from a list, a mapping, a decoder callable or "imagenet".

    A callable is used like keras.applications' ``decode_predictions(preds, top=k)``.
    "imagenet" is that decoder (its names file is fetched once by Keras and cached).
    A source that fails (offline, another shape) is tried once; `notice` then says so
    and every class is called by its index. Whatever the source prints is swallowed.
    `names(index, n_classes)` is the name: "imagenet" always decodes its 1000 classes
    (Keras' decoder takes no other count), a decoder `n_classes` (None: as many as the
    index needs).
    """

    def __init__(self, source: ClassNamesLike) -> None:
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
                count = IMAGENET_CLASSES if source == "imagenet" else n_classes or 0
                self._names = self._decode_all(max(count, index + 1))
            except Exception as e:  # offline, or a decoder for another number of classes
                self._names = {}
                self.notice = (imagenet_notice(e) if source == "imagenet" else
                               f"could not load class names ({type(e).__name__}: {e}); "
                               "showing class indices")
        return self._names.get(index, fallback)


#: what Keras downloads to name ImageNet classes, and where it keeps it
IMAGENET_INDEX_FILE = "~/.keras/models/imagenet_class_index.json"
_OFFLINE = ("URL fetch failure", "Name or service not known", "Temporary failure in name "
            "resolution", "Network is unreachable", "timed out", "Connection refused")


def imagenet_notice(error: BaseException) -> str:
    """One line on why the ImageNet names could not be loaded (no network, a missing
    or unreadable file, or the error itself) and what to pass instead."""
    text = str(error)
    if isinstance(error, (ConnectionError, TimeoutError)) or any(k in text for k in _OFFLINE):
        why = ("no network: Keras downloads the ImageNet class names once "
               f"({IMAGENET_INDEX_FILE}) and could not reach the server")
    elif isinstance(error, (FileNotFoundError, PermissionError)):
        why = f"the file {IMAGENET_INDEX_FILE} is missing or unreadable ({text})"
    else:
        why = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return (f"ImageNet class names not loaded: {why}. Showing class indices; pass "
            "class_names= a list of the 1000 names, or copy imagenet_class_index.json to "
            f"{IMAGENET_INDEX_FILE}")
