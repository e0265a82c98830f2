"""What is differentiated: target specs -> one scalar score per image.

The class index of an image is fixed before the score is taken (the predicted class is
an argmax of values the gradient does not flow through), then the score is gathered
with that index: `tf.argmax` on the differentiated path would give a None gradient.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

TargetSpec = int | Sequence[int] | np.ndarray | Callable[[Any], Any] | None

PREDICTED = -1  # class index placeholder meaning "the predicted class"
_SQUASHERS = ("softmax", "sigmoid")


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


def gather_scores(logits: tf.Tensor, indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Scores (B,) at `indices`, the predicted class where an index is PREDICTED."""
    flat = tf.reshape(logits, (tf.shape(logits)[0], -1))
    predicted = tf.argmax(tf.stop_gradient(flat), axis=1, output_type=tf.int64)
    chosen = tf.where(indices < 0, predicted, indices)
    return tf.gather(flat, chosen, axis=1, batch_dims=1), chosen


def _activation_name(layer: keras.layers.Layer) -> str:
    return getattr(getattr(layer, "activation", None), "__name__", "")


def squashes(layer: keras.layers.Layer) -> bool:
    """True when `layer` ends in a softmax or sigmoid (fused or as its own layer)."""
    return isinstance(layer, keras.layers.Softmax) or _activation_name(layer) in _SQUASHERS


def pre_squash(layer: keras.layers.Layer, args: tuple) -> tf.Tensor:
    """What `layer` computes before its final softmax/sigmoid, with its live weights."""
    inputs = args[0]
    if isinstance(layer, (keras.layers.Softmax, keras.layers.Activation)):
        return inputs
    if isinstance(layer, keras.layers.Dense):
        out = tf.matmul(inputs, layer.kernel)
        return out + layer.bias if layer.bias is not None else out
    if isinstance(layer, keras.src.layers.convolutional.base_conv.BaseConv) and (
        layer.data_format == "channels_last"
    ):
        out = layer.convolution_op(inputs, layer.kernel)
        return out + layer.bias if layer.use_bias else out
    raise ValueError(
        f"Layer {layer.name!r} ({type(layer).__name__}) applies "
        f"{_activation_name(layer)} internally and cannot be split into logits and "
        "activation. Pass `logits=False` to explain the probabilities instead."
    )
