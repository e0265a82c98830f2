"""The gallery's rows, from Parquet results or from `explain` results, as numpy columns.

No widgets here: `GalleryData` holds one entry per image (ids, classes, scores, metrics,
maps) and knows how to fetch each raw image (from the file its id names, or from the
image array given with it).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cam_widgets.images import read_image

#: Columns the gallery can sort by (besides "index", the source order).
SORT_KEYS = ("index", "score", "probability", "pointing_game", "energy_in_box")
UNKNOWN = -1  # a missing class (no label, or a callable target)


@dataclass(frozen=True)
class GalleryData:
    """One entry per image; metrics are NaN where unknown."""

    ids: list[Any]
    labels: np.ndarray  # int64, UNKNOWN when not given
    targets: np.ndarray  # int64
    scores: np.ndarray  # float32
    predicted: np.ndarray  # int64, UNKNOWN when the model's output was not kept
    probability: np.ndarray  # float32, NaN when unknown
    pointing_game: np.ndarray  # float32 (1.0 hit, 0.0 miss, NaN unknown)
    energy_in_box: np.ndarray  # float32
    maps: np.ndarray  # float32 (N, h, w) in [0, 1]
    method: str
    layer: str | None
    image_of: Callable[[int], np.ndarray]  # row -> raw image (H, W, C)

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, key: str) -> np.ndarray:
        if key == "index":
            return np.arange(len(self), dtype=np.float64)
        if key not in SORT_KEYS:
            raise ValueError(f"sort_by must be one of {SORT_KEYS}; got {key!r}.")
        columns = {"score": self.scores, "probability": self.probability,
                   "pointing_game": self.pointing_game, "energy_in_box": self.energy_in_box}
        return np.asarray(columns[key], np.float64)

    @property
    def misclassified(self) -> np.ndarray:
        known = (self.labels != UNKNOWN) & (self.predicted != UNKNOWN)
        return known & (self.labels != self.predicted)


def _filled(values: Any, count: int, dtype: Any, missing: Any) -> np.ndarray:
    """`values` as `dtype`, or `missing` for every row when there are none."""
    if values is None:
        return np.full(count, missing, dtype)
    return np.asarray(values).astype(dtype)


def _image_getter(ids: list[Any], images: Any,
                  size: tuple[int, int] | None) -> Callable[[int], np.ndarray]:
    if images is not None:
        array = np.asarray(images)

        def from_array(row: int) -> np.ndarray:
            key = ids[row]
            return array[key if isinstance(key, (int, np.integer)) else row]

        return from_array

    def from_file(row: int) -> np.ndarray:
        path = ids[row]
        if not isinstance(path, str) or not os.path.isfile(path):
            raise ValueError(f"Image {path!r} is not a file: pass `images=` (the array the "
                             "results were computed from) to the gallery.")
        return read_image(path, 3, size)  # RGB at the model's input size

    return from_file


def from_table(table: Any, images: Any = None,
               input_size: tuple[int, int] | None = None) -> GalleryData:
    """Rows written by `explain_to_parquet` (a pyarrow Table)."""
    from cam_widgets.audit import maps_of

    count = table.num_rows
    if count == 0:
        raise ValueError("The results table is empty: nothing to show.")

    ids = table.column("id").to_pylist()
    layers = set(table.column("layer").to_pylist())
    methods = set(table.column("method").to_pylist())
    return GalleryData(
        ids=ids,
        **_numbers(table),
        maps=maps_of(table),
        method=", ".join(sorted(methods)),
        layer=", ".join(sorted(str(v) for v in layers if v is not None)) or None,
        image_of=_image_getter(ids, images, input_size),
    )


def from_result(result: Any, images: Any, labels: Sequence[int] | None = None,
                boxes: np.ndarray | None = None, binary: bool | None = None) -> GalleryData:
    """An `explain` result and the images it explained (optional labels and boxes).

    `binary`: the model is a binary sigmoid head (`kernel.targets.sigmoid_head`); None
    when the model is not at hand: then one output column in [0, 1] is read as one.
    """
    from cam_widgets import metrics
    from cam_widgets.kernel.targets import looks_binary, top_classes

    maps = np.asarray(result.maps, np.float32)
    if maps.ndim != 3:
        raise ValueError(f"The gallery shows one map per image; this result has maps of shape "
                         f"{maps.shape} (several layers or top_k): index one first.")
    count = len(maps)
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if len(images) != count:
        raise ValueError(f"{count} maps but {len(images)} images: pass the images explained.")
    predicted = probability = None
    if result.predictions is not None:
        if binary is None:
            binary = looks_binary(result.predictions)
        predicted, probability = top_classes(result.predictions, binary)
    hits = energy = None
    if boxes is not None:
        hits = metrics.pointing_game(maps, boxes).astype(np.float32)
        energy = metrics.energy_in_box(maps, boxes)
    ids = list(range(count))
    return GalleryData(
        ids=ids,
        labels=_filled(labels, count, np.int64, UNKNOWN),
        targets=np.asarray(result.targets, np.int64),
        scores=np.asarray(result.scores, np.float32),
        predicted=_filled(predicted, count, np.int64, UNKNOWN),
        probability=_filled(probability, count, np.float32, np.nan),
        pointing_game=_filled(hits, count, np.float32, np.nan),
        energy_in_box=_filled(energy, count, np.float32, np.nan),
        maps=maps,
        method=result.method,
        layer=result.layer if isinstance(result.layer, str) else None,
        image_of=_image_getter(ids, images, None),
    )


class _Ids:
    """Ids kept as one Arrow column; `ids[row]` is a Python value (no list of 100k objects)."""

    def __init__(self, column: Any) -> None:
        self.column = column.combine_chunks()

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, row: int) -> Any:
        return self.column[int(row)].as_py()


def from_results(results: Any, images: Any = None,
                 input_size: tuple[int, int] | None = None) -> GalleryData:
    """Rows of a results folder (`read_results`), read lazily: the small columns are read
    (projected, maps left out) for filtering and sorting; a map is read from its file when
    a thumbnail needs it (`audit.results.MapReader`)."""
    import pyarrow.compute as pc

    from cam_widgets.audit.results import MapReader

    count = results.num_rows
    if count == 0:
        raise ValueError("The results table is empty: nothing to show.")
    names = ["id", "label", "target", "score", "predicted", "probability", "pointing_game",
             "energy_in_box"]
    table = results.to_table(columns=names)

    def distinct(name: str) -> list[Any]:
        return pc.unique(results.column(name)).to_pylist()

    ids = _Ids(table.column("id"))
    layers = [str(v) for v in distinct("layer") if v is not None]
    return GalleryData(
        ids=ids,
        **_numbers(table),
        maps=MapReader(results),
        method=", ".join(sorted(distinct("method"))),
        layer=", ".join(sorted(layers)) or None,
        image_of=_image_getter(ids, images, input_size),
    )


def _numbers(table: Any) -> dict[str, np.ndarray]:
    """The numeric columns of a results table (pyarrow) as numpy, nulls (no label, no box
    given) replaced by their placeholder."""
    import pyarrow as pa

    wanted = {  # GalleryData field -> (results column, type, value where it is null)
        "labels": ("label", pa.int64(), UNKNOWN),
        "targets": ("target", pa.int64(), UNKNOWN),
        "scores": ("score", pa.float32(), np.nan),
        "predicted": ("predicted", pa.int64(), UNKNOWN),
        "probability": ("probability", pa.float32(), np.nan),
        "pointing_game": ("pointing_game", pa.float32(), np.nan),
        "energy_in_box": ("energy_in_box", pa.float32(), np.nan),
    }
    return {field: table.column(name).cast(kind).fill_null(missing)
            .to_numpy(zero_copy_only=False)
            for field, (name, kind, missing) in wanted.items()}
