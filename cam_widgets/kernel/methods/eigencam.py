"""Eigen-CAM: the first principal component of a layer's activations."""
from __future__ import annotations

import tensorflow as tf

from cam_widgets.kernel.methods.base import Attribution, Method, Run, scale_min_max, upsample


def first_component(activations: tf.Tensor) -> tf.Tensor:
    """(B, h, w, K) -> (B, h, w): each image's locations projected on the first principal
    axis of its K-channel activations (centred over the locations), signed so that the
    projection correlates positively with the activations summed over channels."""
    shape = tf.shape(activations)
    points = tf.reshape(activations, (shape[0], shape[1] * shape[2], shape[3]))
    centred = points - tf.reduce_mean(points, axis=1, keepdims=True)
    singular, left, _ = tf.linalg.svd(centred, full_matrices=False)
    projection = left[:, :, 0] * singular[:, :1]  # (B, hw): centred @ first right vector
    total = tf.reduce_sum(points, axis=2)
    agreement = tf.reduce_sum(projection * (total - tf.reduce_mean(total, 1, keepdims=True)),
                              axis=1, keepdims=True)
    projection *= tf.where(agreement < 0, -1.0, 1.0)
    return tf.reshape(projection, shape[:3])


class EigenCAM(Method):
    """Eigen-CAM: the layer's activations projected on their first principal component.

    Muhammad & Yeasin 2020, "Eigen-CAM: Class Activation Map using Principal
    Components". Class-agnostic: it uses neither gradients nor the class, so every class
    of an image gets the same map (`targets` and `scores` still report the class the
    model picked, or the one asked for). The principal axis has no sign of its own; it is
    chosen so that the map correlates positively with the activations summed over
    channels. The map shown is the ReLU of the projection, as for the other CAMs.
    """

    name = "eigencam"
    paper = "Muhammad & Yeasin 2020"
    caption = "bright: locations along the layer's main direction of variation (any class)"
    uses_layer = True
    guided_variant = False
    class_specific = False

    def compute(self, run: Run) -> Attribution:
        out = run.probe(run.inputs, run.replacements)
        scores, chosen = run.score(out)
        size = tf.shape(run.explained)[1:3]
        raw = [first_component(acts) for acts in out.activations]
        maps = [scale_min_max(upsample(tf.nn.relu(cam), size)) for cam in raw]
        result = run.result(raw, tf.stack(maps, axis=1), scores, chosen, out)
        result["activations"] = out.activations
        return result
