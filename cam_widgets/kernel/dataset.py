"""explain_dataset: `explain` over a stream of batches (tf.data or any iterable)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import keras

from cam_widgets.kernel.explain import explain
from cam_widgets.kernel.graph import check_model
from cam_widgets.kernel.progress import image_bar, progress_wanted
from cam_widgets.kernel.result import ExplainResult
from cam_widgets.kernel.targets import TargetSpec, label_indices


def explain_dataset(
    model: keras.Model, dataset: Iterable, *, method: str = "gradcam",
    target: TargetSpec | str = None, progress: bool | None = None, **kwargs: Any,
) -> Iterator[ExplainResult]:
    """`explain` over batches, one result per batch.

    `dataset` is a batched `tf.data.Dataset` (on every Keras backend, as `fit` takes one)
    or any iterable of batches. Elements are image batches, or `(images, labels)`;
    `target="label"` explains each image's label. For a multi-input model, images are a
    tuple with one batch per input. One compiled function serves every batch of a shape
    (no retracing). `progress=True` shows a tqdm bar counting images (images/s); None
    (the default) shows it in notebooks only.
    """
    check_model(model)
    show = progress_wanted(progress)
    bar = image_bar(show, _image_count(dataset) if show else None, method)
    try:
        for result in _explain_batches(model, dataset, method, target, **kwargs):
            bar.update(len(result.targets))
            yield result
        if bar.total is not None and bar.n != bar.total:  # the estimate was an upper bound
            bar.total = bar.n
            bar.refresh()
    finally:
        bar.close()


def _image_count(dataset: Iterable) -> int | None:
    """Batches x static batch size of a tf.data.Dataset when both are known (an upper
    bound), else None."""
    cardinality = getattr(dataset, "cardinality", None)
    spec = getattr(dataset, "element_spec", None)
    if cardinality is None or spec is None:
        return None
    batches = int(cardinality())
    shape = keras.tree.flatten(spec)[0].shape
    if batches < 0 or shape.rank is None or shape[0] is None:
        return None
    return batches * int(shape[0])


def _explain_batches(model, dataset, method, target, **kwargs) -> Iterator[ExplainResult]:
    n_inputs = len(model.inputs)
    for element in dataset:
        labels = None
        if isinstance(element, (tuple, list)):
            if n_inputs == 1 and len(element) == 2:
                element, labels = element
            elif n_inputs > 1 and len(element) == 2 and isinstance(element[0], (tuple, list)):
                element, labels = element
        batch_target = target
        if isinstance(target, str):
            if target != "label":
                raise ValueError(f"target={target!r} is not known; use 'label', None, an "
                                 "int, ints or a callable.")
            if labels is None:
                raise ValueError(
                    "target='label' needs a dataset of (images, labels) pairs; this one "
                    "yields images only."
                )
            batch_target = label_indices(labels)
        images = list(element) if n_inputs > 1 else element
        yield explain(model, images, method=method, target=batch_target, **kwargs)
