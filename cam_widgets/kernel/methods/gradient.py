"""Methods that read the gradient of the score at the input pixels."""
from __future__ import annotations

import tensorflow as tf

from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, gradient_display


class Saliency(Method):
    """Vanilla gradient saliency: max |d score / d pixel| over channels.

    Simonyan et al. 2014, "Deep Inside Convolutional Networks: Visualising Image
    Classification Models and Saliency Maps".
    """

    name = "saliency"
    paper = "Simonyan et al. 2014"
    caption = "bright: pixels whose change moves the class score most (|gradient|)"
    uses_layer = False

    def compute(self, run: Run) -> Attribution:
        probe = run.guided_probe or run.probe
        grads, scores, chosen, out = run.input_gradients(probe)
        maps = gradient_display(grads, guided=run.guided_probe is not None)
        return run.result(grads, maps, scores, chosen, out)


class GuidedBackprop(Saliency):
    """Guided backpropagation: the input gradient through guided ReLUs.

    Springenberg et al. 2015, "Striving for Simplicity: The All Convolutional Net".
    """

    name = "guided_backprop"
    paper = "Springenberg et al. 2015"
    caption = "signed: pixel gradients through guided ReLUs (red raises the score)"
    forces_guided = True


class SmoothGrad(Saliency):
    """SmoothGrad: the input gradient averaged over noisy copies of the image.

    Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise". Options:
    `n_samples` (default 25), `noise_level` (std as a fraction of each image's value
    range, default 0.15), `seed` (default 0). The class is chosen on the clean image.
    """

    name = "smoothgrad"
    paper = "Smilkov et al. 2017"
    caption = "bright: pixels whose change moves the class score most, averaged over noise"
    options = (
        Option("n_samples", 25, int, "noisy copies averaged", low=1, high=10_000),
        Option("noise_level", 0.15, float, "noise std as a fraction of the image's value range",
               low=0.0, high=10.0),
        Option("seed", 0, int, "seed of the noise (the same seed gives the same map)"),
    )

    def compute(self, run: Run) -> Attribution:
        options = run.options
        n_samples = int(options["n_samples"])
        probe = run.guided_probe or run.probe
        clean = run.probe(run.inputs)
        scores, chosen = run.score(clean)
        images = run.explained
        spread = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True) - tf.reduce_min(
            images, axis=[1, 2, 3], keepdims=True)
        sigma = float(options["noise_level"]) * spread
        seed = tf.constant(int(options["seed"]), tf.int32)

        def add_sample(sample, total):
            noise = tf.random.stateless_normal(tf.shape(images), tf.stack([seed, sample]))
            inputs = list(run.inputs)
            inputs[run.input_index] = images + sigma * noise
            grads, *_ = run.input_gradients(probe, inputs, indices=chosen)
            return sample + 1, total + grads

        _, total = tf.while_loop(lambda sample, _: sample < n_samples, add_sample,
                                 (tf.constant(0, tf.int32), tf.zeros_like(images)))
        grads = total / float(n_samples)
        maps = gradient_display(grads, guided=run.guided_probe is not None)
        return run.result(grads, maps, scores, chosen, clean)
