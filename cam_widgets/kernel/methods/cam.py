"""Class activation maps weighted by gradients: Grad-CAM and the methods that differ
from it only in how the weights are formed."""
from __future__ import annotations

import abc

import tensorflow as tf

from cam_widgets.kernel.methods.base import (
    Attribution, Method, Run, gradient_display, scale_min_max, upsample)


class CamMethod(Method):
    """Template: weights(activations, gradients) -> sum over channels -> ReLU -> map.

    Subclasses override only `weights`. With guided gradients the CAM multiplies guided
    backprop at the input (Guided Grad-CAM, Selvaraju et al. 2017).
    """

    uses_layer = True
    caption = "bright: layer features that raise the class score (ReLU of the weighted sum)"

    @abc.abstractmethod
    def weights(self, activations: tf.Tensor, grads: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def compute(self, run: Run) -> Attribution:
        """Maps (B, L, H, W) for the L read layers, from one forward and one backward.

        With guided gradients the same forward pass serves both: the layer gradients
        are taken with the gates passing gradients as they are, then the input gradient
        through guided ReLUs.
        """
        probe = run.guided_probe or run.probe
        # Only what is watched below needs gradients, not the weights.
        with tf.GradientTape(persistent=probe.guided, watch_accessed_variables=False) as tape:
            if probe.guided:
                tape.watch(run.explained)
            # The probe watches each read layer output as it is made: a tape records
            # only ops fed by watched tensors, and a layer before the first weight (an
            # input padding) would otherwise get no gradient.
            out = probe(run.inputs, run.replacements, watch=tape.watch)
            scores, chosen = run.score(out)
        with probe.gates.vanilla():
            grads = tape.gradient(scores, out.activations)
        if any(grad is None for grad in grads):
            raise ValueError(
                "The score does not depend on the chosen layer: its gradient is None. "
                "Pick a layer that feeds the explained output (the default layer does), "
                "and a target computed from the model's output."
            )
        size = tf.shape(run.explained)[1:3]
        raw = [tf.reduce_sum(self.weights(acts, grad) * acts, axis=-1)
               for acts, grad in zip(out.activations, grads)]
        maps = [scale_min_max(upsample(tf.nn.relu(cam), size)) for cam in raw]
        if probe.guided:
            if run.replacements is None:
                guided_grads = tape.gradient(scores, run.explained)
            else:  # the given layer outputs cut the input off: run the model once more
                guided_grads, *_ = run.input_gradients(probe, indices=chosen)
            raw = [guided_grads * cam_map[..., None] for cam_map in maps]
            maps = [gradient_display(product, guided=True) for product in raw]
        result = run.result(raw, tf.stack(maps, axis=1), scores, chosen, out)
        result["activations"] = out.activations
        return result


class GradCAM(CamMethod):
    """Grad-CAM: channel weights are the spatial mean of the gradients.

    Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization".
    """

    name = "gradcam"
    paper = "Selvaraju et al. 2017"

    def weights(self, activations, grads):
        return tf.reduce_mean(grads, axis=[1, 2], keepdims=True)


class GradCAMPlusPlus(CamMethod):
    """Grad-CAM++: positive gradients weighted per location by alpha.

    Chattopadhyay et al. 2018, "Grad-CAM++: Generalized Gradient-based Visual
    Explanations for Deep Convolutional Networks". With an exponential of the score as
    the output, alpha = g^2 / (2 g^2 + sum_ab(A) g^3).
    """

    name = "gradcam++"
    paper = "Chattopadhyay et al. 2018"

    def weights(self, activations, grads):
        squared = tf.square(grads)
        denominator = 2.0 * squared + tf.reduce_sum(
            activations, axis=[1, 2], keepdims=True) * squared * grads
        alpha = tf.math.divide_no_nan(squared, denominator)
        return tf.reduce_sum(alpha * tf.nn.relu(grads), axis=[1, 2], keepdims=True)


class LayerCAM(CamMethod):
    """LayerCAM: each location weighted by its own positive gradient.

    Jiang et al. 2021, "LayerCAM: Exploring Hierarchical Class Activation Maps for
    Localization".
    """

    name = "layercam"
    paper = "Jiang et al. 2021"
    caption = "bright: locations whose features raise the class score (positive gradients)"

    def weights(self, activations, grads):
        return tf.nn.relu(grads)


class GuidedGradCAM(GradCAM):
    """Guided Grad-CAM: guided backprop times the upsampled Grad-CAM (Selvaraju et al.
    2017), with guided ReLUs after Springenberg et al. 2015."""

    name = "guided_gradcam"
    paper = "Selvaraju et al. 2017; Springenberg et al. 2015"
    caption = "signed: pixel gradients through guided ReLUs, masked by Grad-CAM"
    forces_guided = True
