"""Eigen-CAM: the first principal component of a layer's activations."""
from __future__ import annotations

from keras import ops

from cam_widgets.kernel.methods.base import Attribution, Method, Run


def first_component(activations):
    """(B, h, w, K) -> (B, h, w): each image's locations projected on the first principal
    axis of its K-channel activations (centred over the locations), signed so that the
    projection correlates positively with the activations summed over channels."""
    _, height, width, channels = activations.shape
    points = ops.reshape(activations, (-1, height * width, channels))
    centred = points - ops.mean(points, axis=1, keepdims=True)
    left, singular, _ = ops.svd(centred, full_matrices=False)
    projection = left[:, :, 0] * singular[:, :1]  # (B, hw): centred @ first right vector
    total = ops.sum(points, axis=2)
    agreement = ops.sum(projection * (total - ops.mean(total, 1, keepdims=True)),
                        axis=1, keepdims=True)
    projection = projection * ops.where(agreement < 0, -1.0, 1.0)
    return ops.reshape(projection, (-1, height, width))


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
        return run.layer_result([first_component(acts) for acts in out.activations],
                                scores, chosen, out)
