"""What is differentiated: target specs -> one scalar score per image.

The class index of an image is fixed before the score is taken (the predicted class is
an argmax of values the gradient does not flow through), then the score is gathered
with that index: an argmax on the differentiated path would give a None gradient
(`tf.argmax` inside a tape, the classic mistake).
"""
from __future__ import annotations

import types
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from cam_widgets.kernel.activations import activation_name, is_op
from cam_widgets.kernel.graph import leaf_calls

TargetSpec = int | Sequence[int] | np.ndarray | Callable[[Any], Any] | None

PREDICTED = -1  # class index placeholder meaning "the predicted class"
_SQUASHERS = ("softmax", "sigmoid")
_CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


def output_shapes(model: keras.Model) -> list[tuple[int | None, ...]]:
    """The static shapes of the model's outputs."""
    return [tuple(ref.shape) for ref in model.outputs]


def sigmoid_head(model: keras.Model) -> bool:
    """True for one (batch, 1) output that ends in a sigmoid: a binary classifier."""
    shapes = output_shapes(model)
    return (len(shapes) == 1 and shapes[0][1:] == (1,) and any(
        call.terminal and activation_name(call.layer) == "sigmoid"
        for call in leaf_calls(model)))


def class_count(model: keras.Model) -> int | None:
    """How many classes an int target can name on `model`'s output.

    K for one (batch, K) output; 2 for a binary sigmoid head (batch, 1) (0 is the
    negative class, 1 the positive); None when an int target cannot name a value (several
    outputs, or an output that is not (batch, classes)): then a callable target is needed.
    """
    shapes = output_shapes(model)
    if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][-1] is None:
        return None
    return 2 if sigmoid_head(model) else int(shapes[0][-1])


def label_indices(labels: Any) -> np.ndarray:
    """Class labels as int64 indices (B,): one-hot rows become their argmax."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot rows
        labels = labels.argmax(axis=1)
    return labels.reshape(-1).astype(np.int64)


def predicted_classes(model: keras.Model, predictions: np.ndarray) -> np.ndarray:
    """The class `target=None` explains, per row of the model's output: the argmax, or
    for a binary sigmoid head (B, 1) 1 where p >= 0.5 and 0 below."""
    rows = np.asarray(predictions).reshape(len(predictions), -1)
    if rows.shape[1] == 1 and sigmoid_head(model):
        return (rows[:, 0] >= 0.5).astype(np.int64)
    return rows.argmax(axis=1).astype(np.int64)


def looks_like_probabilities(values: np.ndarray) -> bool:
    """True when every row of a (B, K) output, K > 1, lies in [0, 1] and sums to 1."""
    rows = np.asarray(values, np.float64)
    return bool(rows.ndim == 2 and rows.shape[1] > 1 and rows.min() >= 0 and rows.max() <= 1
                and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3))


def class_indices(target: TargetSpec, batch: int, n_classes: int | None) -> np.ndarray:
    """Per-image class indices (B,), PREDICTED where the model's choice is wanted."""
    if target is None:
        return np.full(batch, PREDICTED, np.int64)
    if isinstance(target, bool) or isinstance(target, (float, str)):
        raise TypeError(
            f"`target` must be None, an int class index, one int per image or a "
            f"callable; got {target!r}."
        )
    indices = np.asarray(target)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"Class indices must be integers; got {indices.dtype} values {target!r}.")
    if indices.ndim == 0:
        indices = np.full(batch, int(indices), np.int64)
    if indices.shape != (batch,):
        raise ValueError(
            f"`target` gives {indices.size} class indices for {batch} images; give one "
            "int for all images or exactly one per image."
        )
    if n_classes is not None and ((indices < 0) | (indices >= n_classes)).any():
        bad = indices[(indices < 0) | (indices >= n_classes)][0]
        raise ValueError(
            f"Class index {bad} is out of range: the model's output has {n_classes} "
            f"classes (valid 0..{n_classes - 1})."
        )
    return indices.astype(np.int64)


def check_class_output(model: keras.Model) -> None:
    """A ValueError when an int or predicted-class target cannot name one value."""
    shapes = output_shapes(model)
    if len(shapes) > 1:
        raise ValueError(
            f"Model {model.name!r} has {len(shapes)} outputs, so a class index is "
            "ambiguous. Pass a callable target: it receives the list of outputs and "
            "returns one score per image, e.g. `target=lambda outs: outs[1][:, 3]`."
        )
    if class_count(model) is None:
        raise ValueError(
            f"Model {model.name!r} has an output of shape {shapes[0]}, not (batch, "
            "classes), so a class index (or the predicted class) does not name one value "
            "per image. Pass a callable target that returns one score per image, e.g. "
            "`target=lambda out: keras.ops.mean(out[..., 1], axis=(1, 2))`, or, for a "
            "segmentation output, a `SegmentationTarget`."
        )


def gather_scores(outputs, indices, binary: bool = False, probabilities: bool = False):
    """Scores (B,) float32 at `indices`, the predicted class where an index is PREDICTED.

    A `binary` (B, 1) sigmoid head has two classes: 1 scores its logit, 0 minus its
    logit (one minus the probability, when `probabilities`: logits=False); the
    predicted class is 1 where the logit is positive (the probability above one half).
    """
    outputs = ops.cast(outputs, "float32")
    indices = ops.cast(indices, "int32")
    if binary:
        value = outputs[:, 0]
        threshold = 0.5 if probabilities else 0.0
        predicted = ops.cast(ops.stop_gradient(value) > threshold, "int32")
        chosen = ops.where(indices < 0, predicted, indices)
        negative = 1.0 - value if probabilities else -value
        return ops.where(chosen == 1, value, negative), chosen
    predicted = ops.cast(ops.argmax(ops.stop_gradient(outputs), axis=1), "int32")
    chosen = ops.where(indices < 0, predicted, indices)
    return ops.take_along_axis(outputs, chosen[:, None], axis=1)[:, 0], chosen


def callable_scores(values: Any):
    """A callable target's result as scores (B,) float32; a clear error for anything but
    one scalar per image ((B,) or (B, 1))."""
    scores = ops.convert_to_tensor(values)
    shape = tuple(scores.shape)
    if len(shape) == 2 and shape[-1] == 1:
        scores = scores[:, 0]
    elif len(shape) != 1:
        raise ValueError(
            f"The callable target returned a tensor of shape {shape}; it must "
            "return one scalar per image, shape (batch,). Select one value per image, "
            "e.g. `lambda out: out[:, 3]`, or reduce the rest, e.g. "
            "`lambda out: keras.ops.sum(out, axis=-1)`."
        )
    return ops.cast(scores, "float32")


def target_key(target: Callable[[Any], Any]) -> Hashable:
    """A cache key for a callable target: equal for two copies of one inline lambda.

    A lambda written inline is a new function object on every call, but its code and
    the values it closes over say what it computes: with hashable captured values the
    key is (code, defaults, captured values); otherwise the function itself.
    """
    if not isinstance(target, types.FunctionType):
        return target
    try:
        captured = tuple(cell.cell_contents for cell in target.__closure__ or ())
        key = (target.__code__, target.__defaults__, captured,
               tuple(sorted((target.__kwdefaults__ or {}).items())))
        hash(key)
    except (TypeError, ValueError):  # an unhashable or an empty closure cell
        return target
    return key


def squashes(layer: keras.layers.Layer) -> bool:
    """True when `layer` ends in a softmax or sigmoid (fused, its own layer, or a
    `keras.ops.softmax` node)."""
    return activation_name(layer) in _SQUASHERS


def pre_squash(layer: keras.layers.Layer, args: tuple):
    """What `layer` computes before its final softmax/sigmoid, with its live weights
    (cast to the layer's compute dtype, as the layer does under mixed precision)."""
    inputs = args[0]
    if isinstance(layer, (keras.layers.Softmax, keras.layers.Activation)) or is_op(layer):
        return inputs
    if isinstance(layer, keras.layers.Dense):
        inputs = ops.cast(inputs, layer.compute_dtype)
        out = ops.matmul(inputs, ops.cast(layer.kernel, inputs.dtype))
        return out + ops.cast(layer.bias, out.dtype) if layer.bias is not None else out
    if isinstance(layer, _CONVOLUTIONS) and layer.data_format == "channels_last":
        inputs = ops.cast(inputs, layer.compute_dtype)
        out = layer.convolution_op(inputs, ops.cast(layer.kernel, inputs.dtype))
        return out + ops.cast(layer.bias, out.dtype) if layer.use_bias else out
    raise ValueError(
        f"Layer {layer.name!r} ({type(layer).__name__}) applies "
        f"{activation_name(layer)} internally and cannot be split into logits and "
        "activation. Pass `logits=False` to explain the probabilities instead."
    )
