"""explain / explain_dataset: validation, batching and the compiled-function cache."""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cam_widgets.kernel.graph import graph_of, leaf_calls
from cam_widgets.kernel.guided import GuidedCoverage, coverage
from cam_widgets.kernel.inputs import ImagesLike, as_input_batches
from cam_widgets.kernel.layers import LayerSpec, resolve_layer
from cam_widgets.kernel.methods import get_method
from cam_widgets.kernel.methods.base import Run
from cam_widgets.kernel.probe import Probe
from cam_widgets.kernel.targets import TargetSpec, class_indices


@dataclass
class ExplainResult:
    """Attributions of a batch (see the README for the meaning of each field)."""

    maps: np.ndarray  # float32 (B, H, W) in [0, 1] at the explained input's resolution
    raw: np.ndarray  # float32, signed: (B, h, w) CAM, or (B, H, W, C) input gradients
    targets: np.ndarray  # int64 (B,) class index per image, -1 for a callable target
    scores: np.ndarray  # float32 (B,) the differentiated score per image
    layer: str | None  # resolved layer path, None for input-gradient methods
    method: str
    predictions: np.ndarray | None = None  # (B, K) the model's own output (single output)
    activations: np.ndarray | None = None  # (B, h, w, C) the layer's output (CAM methods)
    guided_coverage: GuidedCoverage | None = None


# model -> {key: tf.function}; weak, so a deleted model takes its functions with it.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_functions(model: keras.Model) -> dict:
    """The compiled functions cached for `model` (for inspection and tests)."""
    return _COMPILED.get(model, {})


def _compiled(model, key, build: Callable[[], Callable]) -> Callable:
    functions = _COMPILED.setdefault(model, {})
    if key not in functions:
        functions[key] = build()
    return functions[key]


def _n_classes(model: keras.Model) -> int | None:
    if len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
        return None
    return model.outputs[0].shape[-1]


def explain(
    model: keras.Model,
    images: ImagesLike,
    method: str = "gradcam",
    layer: LayerSpec = None,
    target: TargetSpec = None,
    input_index: int = 0,
    logits: bool = True,
    guided: bool = False,
    activations: np.ndarray | None = None,
    batch_size: int = 32,
    **options: Any,
) -> ExplainResult:
    """Attribute the model's score for `images` with `method`.

    `target`: None (predicted class), an int, one int per image, or a callable
    `f(outputs) -> (B,)`. `logits=True` explains the value before a final
    softmax/sigmoid. `guided=True` sends gradients through guided ReLUs. For CAM
    methods, `activations` (a previous result's `.activations` for the same images and
    layer) skips the part of the model before the layer. `options` go to the method
    (SmoothGrad: n_samples, noise_level, seed). Large inputs run `batch_size` at a time.
    """
    graph_of(model)  # a clear error for unbuilt or subclassed models
    chosen_method = get_method(method)
    batches = as_input_batches(model, images)
    if not 0 <= input_index < len(batches):
        raise ValueError(
            f"input_index {input_index} is out of range: the model has {len(batches)} "
            f"input(s) (valid 0..{len(batches) - 1})."
        )
    n_images = batches[0].shape[0]
    if batches[input_index].ndim != 4:
        raise ValueError(
            f"Input {input_index} takes arrays of shape {batches[input_index].shape[1:]}, "
            "not images (batch, height, width, channels): only image inputs can be "
            "explained. Pick the image input with `input_index`."
        )
    layer_call = None
    if chosen_method.uses_layer:
        layer_call = resolve_layer(model, layer, input_index)
        if len(layer_call.output_shape) != 4:
            raise ValueError(
                f"Layer {layer_call.path!r} has output shape {layer_call.output_shape}, "
                f"not (batch, height, width, channels): {method!r} needs a spatial layer. "
                "`list_layers(model)` marks the spatial ones."
            )
    elif activations is not None:
        raise ValueError(f"`activations` only applies to CAM methods, not {method!r}.")
    target_fn = target if callable(target) else None
    indices = (np.full(n_images, -1, np.int64) if target_fn is not None
               else class_indices(target, n_images, _n_classes(model)))
    if activations is not None:
        activations = np.asarray(activations, np.float32)
        want = (n_images, *layer_call.output_shape[1:])
        if activations.ndim != 4 or any(w not in (None, g) for w, g in zip(want, activations.shape)):
            raise ValueError(
                f"`activations` must be the output of layer {layer_call.path!r} for these "
                f"{n_images} images, shape {want}; got {activations.shape}."
            )
    guided = bool(guided or chosen_method.forces_guided)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")

    function = _function(model, chosen_method, layer_call, input_index, guided, logits,
                         target_fn, options, batches, activations is not None)
    parts = []
    for start in range(0, n_images, batch_size):
        window = slice(start, start + batch_size)
        args = [batch[window] for batch in batches] + [indices[window]]
        if activations is not None:
            args.append(activations[window])
        parts.append({name: value.numpy() for name, value in function(*args).items()})
    merged = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return ExplainResult(
        maps=merged["maps"].astype(np.float32),
        raw=merged["raw"].astype(np.float32),
        targets=merged["targets"].astype(np.int64),
        scores=merged["scores"].astype(np.float32),
        layer=None if layer_call is None else layer_call.path,
        method=chosen_method.name,
        predictions=merged["predictions"] if len(model.outputs) == 1 else None,
        activations=merged.get("activations"),
        guided_coverage=_coverage(model) if guided else None,
    )


def _coverage(model: keras.Model) -> GuidedCoverage:
    report = coverage(leaf_calls(model))
    if not report.complete:
        import warnings

        warnings.warn(
            "Guided ReLU could not be applied everywhere, so these gradients are partly "
            f"vanilla:\n{report.summary()}",
            UserWarning,
            stacklevel=3,
        )
    return report


def _function(model, method, layer_call, input_index, guided, logits, target_fn,
              options, batches, with_activations) -> Callable:
    """The compiled function for this kind of call, traced once per input shape family."""
    shapes = tuple(batch.shape[1:] for batch in batches)
    layer_key = None if layer_call is None else (layer_call.path, layer_call.ordinal)
    key = (method.name, layer_key, input_index, guided, logits, target_fn,
           tuple(sorted(options.items())), shapes, with_activations)

    def build() -> Callable:
        probe = Probe(model, layer_call, guided=False, logits=logits)
        guided_probe = Probe(model, layer_call, guided=True, logits=logits) if guided else None
        signature = [tf.TensorSpec((None, *shape), tf.float32) for shape in shapes]
        signature.append(tf.TensorSpec((None,), tf.int64))
        if with_activations:
            signature.append(tf.TensorSpec((None, *layer_call.output_shape[1:]), tf.float32))

        def run(*args):
            inputs = list(args[:len(shapes)])
            replacement = args[len(shapes) + 1] if with_activations else None
            context = Run(probe, guided_probe, inputs, input_index, args[len(shapes)],
                          target_fn, replacement, dict(options))
            return method.compute(context)

        # autograph off: the walk is plain Python over layers, and converting it
        # doubled the trace time of large models.
        return tf.function(run, input_signature=signature, reduce_retracing=True,
                           autograph=False)

    return _compiled(model, key, build)


def explain_dataset(
    model: keras.Model, dataset: tf.data.Dataset, method: str = "gradcam",
    target: TargetSpec | str = None, **kwargs: Any,
) -> Iterator[ExplainResult]:
    """`explain` over a batched `tf.data.Dataset`, one result per batch.

    Elements are image batches, or `(images, labels)`; `target="label"` explains each
    image's label. For a multi-input model, images are a tuple with one batch per input.
    One compiled function serves every batch (no retracing).
    """
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
                raise ValueError(f"target={target!r} is not known; use 'label', None, an int, ints or a callable.")
            if labels is None:
                raise ValueError(
                    "target='label' needs a dataset of (images, labels) pairs; this one "
                    "yields images only."
                )
            batch_target = np.asarray(labels).reshape(-1).astype(np.int64)
        images = list(element) if n_inputs > 1 else element
        yield explain(model, images, method=method, target=batch_target, **kwargs)
