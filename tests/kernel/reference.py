"""Independent reference computations for the tests: written with plain GradientTape on
explicitly split models, sharing no code with the kernel."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf


def run_layers(layers: Sequence[keras.layers.Layer], x):
    for layer in layers:
        if not isinstance(layer, keras.layers.InputLayer):
            x = layer(x, training=False)
    return x


def split_at(layers: Sequence[keras.layers.Layer], name: str):
    """(layers up to and including `name`, the layers after it)."""
    names = [layer.name for layer in layers]
    cut = names.index(name) + 1
    return list(layers[:cut]), list(layers[cut:])


def gradcam(features: Callable, head: Callable, images, score: Callable) -> np.ndarray:
    """Grad-CAM maps (B, H, W) from a feature function and a head function."""
    images = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        activations = features(images)
        tape.watch(activations)
        scores = score(head(activations))
    grads = tape.gradient(scores, activations)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * activations, axis=-1))
    cam = tf.image.resize(cam[..., None], images.shape[1:3], method="bilinear")[..., 0]
    cam = cam.numpy()
    low = cam.min(axis=(1, 2), keepdims=True)
    span = cam.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (cam - low) / np.where(span > 0, span, 1), 0)


def input_gradient(function: Callable, images, score: Callable) -> np.ndarray:
    images = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = score(function(images))
    return tape.gradient(scores, images).numpy()


def class_score(index):
    """Score function picking column `index` (an int or one per image)."""
    def pick(outputs):
        indices = np.broadcast_to(np.asarray(index), (outputs.shape[0],))
        return tf.gather(outputs, indices, axis=1, batch_dims=1)
    return pick
