"""Where the images come from: a folder, file paths, an array or a tf.data.Dataset.

A source knows each image's id (its file path, or its index) and turns a run of
positions into one batch at the model's input size: files are decoded with Pillow and
resized (bilinear), an image that cannot be read is reported with the reason instead.
Sources hold no TensorFlow objects except a dataset, so file and array sources can be
shipped to Ray workers.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cam_widgets.images import CHANNEL_MODES, ImageFileError, read_image
from cam_widgets.kernel.targets import label_indices

Preprocess = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Batch:
    """Images ready for the model, with their ids and the ids that failed."""

    ids: list[Any]
    positions: np.ndarray  # int64: where each image sits in the source (for labels, boxes)
    images: np.ndarray  # (B, H, W, C) after `preprocess`
    failed: dict[Any, str] = field(default_factory=dict)
    labels: np.ndarray | None = None  # int64 (B,), from a dataset of (images, labels)
    skipped: int = 0  # images of this run of the source that were already written


@dataclass(frozen=True)
class InputSize:
    """The model input's (height, width, channels)."""

    height: int
    width: int
    channels: int


def apply_preprocess(preprocess: Preprocess | None, raw: np.ndarray) -> np.ndarray:
    """`preprocess(raw)` as float32 (raw as float32 without one), one input per image."""
    if preprocess is None:
        return raw.astype(np.float32)
    out = np.asarray(preprocess(raw), dtype=np.float32)
    if out.shape[0] != raw.shape[0]:
        raise ValueError(
            f"preprocess must map a batch (B, H, W, C) to one input per image; it turned "
            f"{raw.shape} into {out.shape}."
        )
    return out


@dataclass(frozen=True)
class FileSource:
    """Image files, read by `cam_widgets.images.read_image` (Pillow) at the model's
    input size; ids are the paths as strings."""

    paths: tuple[str, ...]
    size: InputSize
    preprocess: Preprocess | None = None

    def __post_init__(self) -> None:
        if self.size.channels not in CHANNEL_MODES:
            raise ValueError(f"Image files cannot be decoded for a model with "
                             f"{self.size.channels} input channels (1, 3 or 4 can).")

    @property
    def ids(self) -> list[str]:
        return list(self.paths)

    def load(self, positions: Sequence[int]) -> Batch:
        good, arrays, failed = [], [], {}
        for position in positions:
            path = self.paths[position]
            try:
                arrays.append(read_image(path, self.size.channels,
                                         (self.size.height, self.size.width)))
                good.append(position)
            except ImageFileError as error:  # missing, not an image, corrupt, a bomb
                failed[path] = str(error)
        raw = (np.stack(arrays) if arrays
               else np.zeros((0, self.size.height, self.size.width, self.size.channels), np.uint8))
        images = apply_preprocess(self.preprocess, raw) if arrays else raw.astype(np.float32)
        return Batch([self.paths[p] for p in good], np.asarray(good, np.int64), images, failed)


@dataclass(frozen=True)
class ArraySource:
    """An in-memory (N, H, W, C) array; ids are the indices."""

    array: np.ndarray
    preprocess: Preprocess | None = None

    @property
    def ids(self) -> list[int]:
        return list(range(len(self.array)))

    def load(self, positions: Sequence[int]) -> Batch:
        positions = np.asarray(positions, np.int64)
        images = apply_preprocess(self.preprocess, self.array[positions])
        return Batch(positions.tolist(), positions, images)


@dataclass(frozen=True)
class DatasetSource:
    """A batched tf.data.Dataset of images or (images, labels); ids count from 0."""

    dataset: Any
    preprocess: Preprocess | None = None

    def batches(self) -> Iterator[Batch]:
        start = 0
        for element in self.dataset:
            labels = None
            if isinstance(element, (tuple, list)):
                if len(element) != 2:
                    raise ValueError(
                        "A dataset for explain_to_parquet yields image batches or "
                        f"(images, labels) pairs; this one yields {len(element)}-tuples."
                    )
                element, labels = element
                labels = label_indices(labels)
            raw = np.asarray(element)
            if raw.ndim != 4:
                raise ValueError(
                    "A dataset for explain_to_parquet must be batched: elements of shape "
                    f"(batch, height, width, channels); got {raw.shape}. Call `.batch(n)`."
                )
            positions = np.arange(start, start + len(raw), dtype=np.int64)
            start += len(raw)
            yield Batch(positions.tolist(), positions, apply_preprocess(self.preprocess, raw),
                        labels=labels)




def files_in(folder: Path) -> tuple[str, ...]:
    """Every non-hidden file under `folder`, sorted (Pillow decides what is an image)."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
    return tuple(found)
