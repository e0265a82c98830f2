"""Class activation maps weighted by gradients: Grad-CAM and the methods that differ
from it only in how the weights are formed."""
from __future__ import annotations

import abc

from keras import ops

from cam_widgets.kernel import backends
from cam_widgets.kernel.methods.registry import register
from cam_widgets.kernel.methods.base import (
    Attribution, Method, Run, divide_no_nan, gradient_display)


class CamMethod(Method):
    """Template: weights(activations, gradients) -> sum over channels -> ReLU -> map.

    Subclasses override only `weights`. With guided gradients the CAM multiplies guided
    backprop at the input (Guided Grad-CAM, Selvaraju et al. 2017).
    """

    uses_layer = True
    caption = "bright: layer features that raise the class score (ReLU of the weighted sum)"

    @abc.abstractmethod
    def weights(self, activations, grads):
        """Per-channel (B, 1, 1, K) or per-location (B, h, w, K) weights."""

    def compute(self, run: Run) -> Attribution:
        """Maps (B, L, H, W) for the L read layers, from one forward and one backward.

        With guided gradients the same forward pass serves both: the layer gradients
        are taken with the gates passing gradients as they are, then the input gradient
        through guided ReLUs.
        """
        probe = run.guided_probe or run.probe
        # The input is differentiated only when its guided gradient is wanted: watching
        # it would make the backward pass run all the way down for nothing.
        from_input = probe.guided and run.replacements is None
        first = 1 if from_input else 0
        taken = layer_pass(run, probe, from_input, again=from_input)
        chosen, out = taken.aux
        with probe.gates.vanilla():
            grads = taken.gradients(range(first, first + len(out.activations)))
        if any(grad is None for grad in grads):
            raise missing_gradient()
        cams = [ops.sum(self.weights(acts, grad) * acts, axis=-1)
                for acts, grad in zip(out.activations, grads)]
        result = run.layer_result(cams, taken.scores, chosen, out)
        if probe.guided:
            if from_input:
                (guided_grads,) = taken.gradients([0])
            else:  # the given layer outputs cut the input off: run the model once more
                guided_grads, *_ = run.input_gradients(probe, indices=chosen)
            maps = ops.unstack(result.maps, axis=1)
            result.raw = [guided_grads * cam_map[..., None] for cam_map in maps]
            result.maps = ops.stack([gradient_display(product, guided=True)
                                     for product in result.raw], axis=1)
        return result


def layer_pass(run: Run, probe, from_input: bool, again: bool = False):
    """One differentiable run of `probe` on the run's inputs (`backends.differentiate`):
    its primals are zero deltas added to the read layers' outputs, after the explained
    input when `from_input`; its aux is (chosen classes, ProbeOutput)."""
    first = 1 if from_input else 0

    def scored(*primals):
        inputs = list(run.inputs)
        if from_input:
            inputs[run.input_index] = primals[0]
        out = probe(inputs, run.replacements, deltas=primals[first:])
        scores, chosen = run.score(out)
        return scores, (chosen, out)

    deltas = probe.zero_deltas(run.inputs)
    primals = [run.explained, *deltas] if from_input else deltas
    return backends.current().differentiate(scored, primals, again=again)


def missing_gradient() -> ValueError:
    """The error for a score that does not depend on the read layer."""
    return ValueError(
        "The score does not depend on the chosen layer: its gradient is None. Pick a "
        "layer that feeds the explained output (the default layer does), and a target "
        "computed from the model's output."
    )


@register
class GradCAM(CamMethod):
    """Grad-CAM: channel weights are the spatial mean of the gradients.

    Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization".
    """

    name = "gradcam"
    paper = "Selvaraju et al. 2017"

    def weights(self, activations, grads):
        return ops.mean(grads, axis=(1, 2), keepdims=True)


@register
class GradCAMPlusPlus(CamMethod):
    """Grad-CAM++: positive gradients weighted per location by alpha.

    Chattopadhyay et al. 2018, "Grad-CAM++: Generalized Gradient-based Visual
    Explanations for Deep Convolutional Networks". With an exponential of the score as
    the output, alpha = g^2 / (2 g^2 + sum_ab(A) g^3).
    """

    name = "gradcam++"
    paper = "Chattopadhyay et al. 2018"

    def weights(self, activations, grads):
        squared = ops.square(grads)
        denominator = 2.0 * squared + ops.sum(
            activations, axis=(1, 2), keepdims=True) * squared * grads
        alpha = divide_no_nan(squared, denominator)
        return ops.sum(alpha * ops.relu(grads), axis=(1, 2), keepdims=True)


@register
class LayerCAM(CamMethod):
    """LayerCAM: each location weighted by its own positive gradient.

    Jiang et al. 2021, "LayerCAM: Exploring Hierarchical Class Activation Maps for
    Localization".
    """

    name = "layercam"
    paper = "Jiang et al. 2021"
    caption = "bright: locations whose features raise the class score (positive gradients)"

    def weights(self, activations, grads):
        return ops.relu(grads)


@register
class GuidedGradCAM(GradCAM):
    """Guided Grad-CAM: guided backprop times the upsampled Grad-CAM (Selvaraju et al.
    2017), with guided ReLUs after Springenberg et al. 2015."""

    name = "guided_gradcam"
    paper = "Selvaraju et al. 2017; Springenberg et al. 2015"
    caption = "signed: pixel gradients through guided ReLUs, masked by Grad-CAM"
    forces_guided = True


@register
class HiResCAM(CamMethod):
    """HiResCAM: gradient times activation at each location, summed over channels, with
    no spatial averaging of the gradients.

    Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful explanations of
    convolutional neural networks". For a model that ends in global average pooling and
    a dense layer, the map sums exactly to the class score (less the bias) over the
    locations.
    """

    name = "hirescam"
    paper = "Draelos & Carin 2020"
    caption = "bright: locations where gradient x activation raises the class score"

    def weights(self, activations, grads):
        return grads


@register
class XGradCAM(CamMethod):
    """XGrad-CAM: channel weights sum(g * A) / sum(A) over the locations.

    Fu et al. 2020, "Axiom-based Grad-CAM: Towards Accurate Visualization and
    Explanation of CNNs" (the weights that satisfy their sensitivity and conservation
    axioms). A channel whose activations sum to zero gets weight zero.
    """

    name = "xgradcam"
    paper = "Fu et al. 2020"

    def weights(self, activations, grads):
        return divide_no_nan(
            ops.sum(grads * activations, axis=(1, 2), keepdims=True),
            ops.sum(activations, axis=(1, 2), keepdims=True))
