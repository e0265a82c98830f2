"""Explaining a whole data set into Parquet: one row per image, resumable, local or on Ray.

`explain_to_parquet` writes; `read_results` reads back; `CamGallery` (cam_widgets.gallery)
browses the rows.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from cam_widgets.audit.models import input_size, load_model
from cam_widgets.audit.plan import Plan, output_folder
from cam_widgets.audit.results import Results
from cam_widgets.audit.rows import COLUMNS, map_size_of, maps_of, schema
from cam_widgets.audit.sources import ArraySource, DatasetSource, FileSource, Preprocess, files_in
from cam_widgets.audit.store import remove_stale_temporaries, results_dataset, written_ids
from cam_widgets.kernel.progress import progress_wanted

__all__ = ["COLUMNS", "Results", "explain_to_parquet", "map_size_of", "maps_of", "read_results"]

ENGINES = ("local", "ray")
_NOT_HERE = ("top_k", "activations", "images")


def read_results(path: str | os.PathLike) -> Results:
    """The rows written by `explain_to_parquet` at `path`, read lazily (`Results`).

    Nothing but the files' footers is read until asked: `.column(name)` and
    `.to_table(columns=[...], filter=...)` read only those columns and the row groups that
    can pass (e.g. `filter=pyarrow.compute.field("score") > 3`); `.take(rows)` and
    `.head(n)` read rows on demand; `.num_rows` counts from the footers; `.dataset` is the
    pyarrow dataset itself. Rows come in batch order (the source's order: files are named
    by their first position). `.to_table()` loads everything, maps included.
    """
    return Results(results_dataset(path))


def explain_to_parquet(
    model: Any,
    images: Any,
    path: str | os.PathLike,
    *,
    method: str = "gradcam",
    engine: str = "local",
    map_size: tuple[int, int] = (32, 32),
    preprocess: Preprocess | None = None,
    target: Any = None,
    labels: Sequence[int] | np.ndarray | None = None,
    boxes: np.ndarray | None = None,
    masks: np.ndarray | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
    num_actors: int = 1,
    **explain_kwargs: Any,
) -> dict[str, Any]:
    """Explain every image and write one Parquet row per image into the folder `path`.

    `model`: a Keras model or the path of a `.keras` file (loaded before any work; a
    file that does not load is an error). `images`: a folder of image files (every file
    under it; ones Pillow cannot read are reported, not fatal), a list of paths, an
    array (N, H, W, C), or a batched `tf.data.Dataset` of images or (images, labels).
    Files are decoded with Pillow and resized to the model's input size; every batch then
    goes through `preprocess` (as in CamViewer). Ids are the file paths, else the indices.

    Rows: id, label (when `labels` or a labelled dataset gives it), target, score,
    predicted, probability, layer, method, `map` (the map resized to `map_size`, float16,
    row-major) and, given `boxes` (N, 4) as (y0, x0, y1, x1) or object `masks` (N, H, W)
    in the model input's pixels, `pointing_game` and `energy_in_box` (cam_widgets.metrics).

    Resumable: ids already at `path` are skipped. Each batch is written as its own file
    (named after the batch) under a hidden name and renamed when complete, so an
    interrupted run loses at most the batch in flight and never leaves a half-written file.

    `target`: None (predicted class), an int, "label", or a callable (see `explain`).
    `engine="ray"` runs on `num_actors` Ray actors, each writing the batches it explains
    (see cam_widgets.audit.ray_engine, and its note on network exposure). Other keyword
    arguments go to `explain` (layer, guided, logits, method options). `progress`: a tqdm
    bar (images/s, rows written); None shows it in notebooks only.

    Returns {"path", "written", "skipped", "failed": {id: reason}, "images_per_s",
    "timing"}: `timing` holds the start-up (seconds to the first batch, to the end of the
    warm-up; on Ray also `join_s` and `actors_ready_s`) and `steady_images_per_s`, the
    rate after the warm-up. On Ray also "nodes" (images written per Ray node id) and
    "replaced_actors".
    """
    if engine not in ENGINES:
        close = difflib.get_close_matches(str(engine), ENGINES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}.{hint}")
    for name in _NOT_HERE:
        if name in explain_kwargs:
            raise ValueError(f"`{name}` is not supported by explain_to_parquet (one map per "
                             "image and layer); use `explain` for it.")
    layer = explain_kwargs.get("layer")
    if isinstance(layer, (list, tuple)) or layer == "all":
        raise ValueError("explain_to_parquet writes one map per image: give one layer, "
                         f"not {layer!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    map_size = _checked_map_size(map_size)
    show = progress_wanted(progress)
    folder = output_folder(path)

    keras_model = load_model(model)
    size = input_size(keras_model)
    source = _source(images, size, preprocess)
    count = len(source.ids) if not isinstance(source, DatasetSource) else None
    side = {name: _per_image(value, name, count, shape)
            for name, value, shape in (("labels", labels, ()), ("boxes", boxes, (4,)),
                                       ("masks", masks, (size.height, size.width)))}
    if boxes is not None and masks is not None:
        raise ValueError("Give `boxes` or `masks`, not both: the metrics use one region.")
    target_is_label = isinstance(target, str) and target == "label"
    if isinstance(target, str) and not target_is_label:
        raise ValueError(f"target={target!r} is not known; use None, an int, 'label' or a "
                         "callable.")
    if target_is_label and side["labels"] is None and not isinstance(source, DatasetSource):
        raise ValueError("target='label' needs `labels` (one class index per image).")
    id_type = pa.string() if isinstance(source, FileSource) else pa.int64()
    plan = Plan(source, folder, method, None if target_is_label else target, target_is_label,
                schema(id_type, map_size), batch_size, dict(explain_kwargs),
                side["labels"], side["boxes"], side["masks"])

    remove_stale_temporaries(folder)
    done = written_ids(folder)
    if engine == "local":
        from cam_widgets.audit.local import run_local

        counts = run_local(keras_model, plan, done, show)
    else:
        from cam_widgets.audit.ray_engine import run_ray

        counts = run_ray(model, plan, done, show, num_actors)
    return {"path": folder, **counts}


def _checked_map_size(map_size: Any) -> tuple[int, int]:
    ok = (isinstance(map_size, (tuple, list)) and len(map_size) == 2
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                  for v in map_size))
    if not ok:
        raise ValueError(f"map_size must be (height, width) in pixels, e.g. (32, 32); "
                         f"got {map_size!r}.")
    return int(map_size[0]), int(map_size[1])


def _source(images: Any, size: Any, preprocess: Preprocess | None):
    if preprocess is not None and not callable(preprocess):
        raise TypeError(f"preprocess must be a callable on image batches; got {preprocess!r}.")
    if isinstance(images, (str, os.PathLike)):
        folder = Path(images)
        if not folder.is_dir():
            raise ValueError(f"images={os.fspath(images)!r} is not a folder. Pass a folder of "
                             "image files, a list of paths, an array or a tf.data.Dataset.")
        files = files_in(folder)
        if not files:
            raise ValueError(f"The folder {os.fspath(images)!r} holds no files.")
        return FileSource(files, size, preprocess)
    if isinstance(images, (list, tuple)) and images and all(
            isinstance(p, (str, os.PathLike)) for p in images):
        missing = [os.fspath(p) for p in images if not os.path.isfile(p)]
        if missing:
            raise ValueError(f"{len(missing)} of the image paths do not exist, e.g. "
                             f"{missing[0]!r}.")
        return FileSource(tuple(os.fspath(p) for p in images), size, preprocess)
    import tensorflow as tf

    if isinstance(images, tf.data.Dataset):
        return DatasetSource(images, preprocess)
    array = images.numpy() if isinstance(images, tf.Tensor) else np.asarray(images)
    if array.ndim != 4 or len(array) == 0:
        raise ValueError(f"An image array must be (N, height, width, channels) with N >= 1; "
                         f"got shape {array.shape}.")
    if preprocess is None and array.shape[1:] != (size.height, size.width, size.channels):
        wanted = (size.height, size.width, size.channels)
        raise ValueError(f"The model takes images of shape {wanted}; the array holds "
                         f"{array.shape[1:]}. Resize them, or pass `preprocess`.")
    return ArraySource(array, preprocess)


def _per_image(value: Any, name: str, count: int | None,
               shape: tuple[int, ...]) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value)
    if array.ndim != 1 + len(shape) or array.shape[1:] != shape or (
            count is not None and len(array) != count):
        want = f"({count if count is not None else 'N'}{''.join(f', {s}' for s in shape)})"
        raise ValueError(f"{name} must have shape {want}, one entry per image; got {array.shape}.")
    return array.astype(bool) if name == "masks" else array.astype(np.int64)
