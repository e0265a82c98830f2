"""Methods that read the gradient of the score at the input pixels."""
from __future__ import annotations

import tensorflow as tf

from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, gradient_display
from cam_widgets.kernel.methods.batching import (
    chunked_sum, copies_per_pass, flat_copies, tile_batch, with_explained)


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
    range, default 0.15), `seed` (default 0), `chunk_size` (images differentiated per
    pass, noisy copies x batch, default 32). The copies of a chunk go through the model
    as one batch, which puts SmoothGrad at the price of one input gradient of all its
    copies. The class is chosen on the clean image. Sample s draws its noise from the
    seed (seed, s) whatever the chunking, so `chunk_size` changes time and memory, not
    the map.
    """

    name = "smoothgrad"
    paper = "Smilkov et al. 2017"
    caption = "bright: pixels whose change moves the class score most, averaged over noise"
    options = (
        Option("n_samples", 25, int, "noisy copies averaged", low=1, high=10_000),
        Option("noise_level", 0.15, float, "noise std as a fraction of the image's value range",
               low=0.0, high=10.0),
        Option("seed", 0, int, "seed of the noise (the same seed gives the same map)"),
        Option("chunk_size", 32, int, "images per pass (noisy copies x batch): a bound on "
               "memory", low=1, high=4096),
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
        per_pass = copies_per_pass(int(options["chunk_size"]), tf.shape(images)[0], n_samples)

        def noise_of(sample):
            return tf.random.stateless_normal(tf.shape(images), tf.stack([seed, sample]))

        def chunk_gradients(start, count):
            noise = tf.map_fn(noise_of, tf.range(start, start + count),
                              fn_output_signature=tf.float32)
            noisy = images[None] + sigma[None] * noise  # (count, B, H, W, C), copy-major
            inputs = with_explained(run, flat_copies(noisy), count)
            grads, *_ = run.input_gradients(probe, inputs, indices=tile_batch(chosen, count))
            return tf.reduce_sum(tf.reshape(grads, tf.shape(noisy)), axis=0)

        total = chunked_sum(n_samples, per_pass, chunk_gradients, tf.zeros_like(images))
        grads = total / float(n_samples)
        maps = gradient_display(grads, guided=run.guided_probe is not None)
        return run.result(grads, maps, scores, chosen, clean)

