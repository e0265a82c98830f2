"""Methods that read the gradient of the score at the input pixels."""
from __future__ import annotations

import tensorflow as tf

from cam_widgets.kernel.methods.base import Attribution, Run, gradient_display


class Saliency:
    """Vanilla gradient saliency: max |d score / d pixel| over channels.

    Simonyan et al. 2014, "Deep Inside Convolutional Networks: Visualising Image
    Classification Models and Saliency Maps".
    """

    name = "saliency"
    uses_layer = False
    forces_guided = False

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
    forces_guided = True


class SmoothGrad(Saliency):
    """SmoothGrad: the input gradient averaged over noisy copies of the image.

    Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise". Options:
    `n_samples` (default 25), `noise_level` (std as a fraction of each image's value
    range, default 0.15), `seed` (default 0), `chunk_size` (images differentiated per
    pass, noisy copies x batch, default 32: the copies of a chunk go through the model
    as one batch, which is what makes SmoothGrad cost about as much as one input
    gradient of all copies at once). The class is chosen on the clean image. Sample s
    draws its noise from the seed (seed, s) whatever the chunking, so the result does
    not depend on `chunk_size`.
    """

    name = "smoothgrad"
    defaults = {"n_samples": 25, "noise_level": 0.15, "seed": 0, "chunk_size": 32}

    def compute(self, run: Run) -> Attribution:
        options = {**self.defaults, **run.options}
        n_samples = int(options["n_samples"])
        if n_samples < 1:
            raise ValueError(f"SmoothGrad needs n_samples >= 1; got {n_samples}.")
        chunk_size = int(options["chunk_size"])
        if chunk_size < 1:
            raise ValueError(f"SmoothGrad needs chunk_size >= 1; got {chunk_size}.")
        probe = run.guided_probe or run.probe
        clean = run.probe(run.inputs)
        scores, chosen = run.score(clean)
        images = run.explained
        batch = tf.shape(images)[0]
        spread = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True) - tf.reduce_min(
            images, axis=[1, 2, 3], keepdims=True)
        sigma = float(options["noise_level"]) * spread
        seed = tf.constant(int(options["seed"]), tf.int32)
        # Noisy copies per pass: as many as fit in `chunk_size` images, at least one.
        per_pass = tf.clip_by_value(chunk_size // batch, 1, n_samples)

        def noise_of(sample):
            return tf.random.stateless_normal(tf.shape(images), tf.stack([seed, sample]))

        def add_chunk(start, total):
            count = tf.minimum(per_pass, n_samples - start)
            samples = tf.range(start, start + count)
            noise = tf.map_fn(noise_of, samples, fn_output_signature=tf.float32)
            noisy = images[None] + sigma[None] * noise  # (count, B, H, W, C)
            inputs = [tf.tile(x, tf.concat([[count], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
                      for x in run.inputs]
            inputs[run.input_index] = tf.reshape(noisy, tf.shape(inputs[run.input_index]))
            grads, *_ = run.input_gradients(probe, inputs, indices=tf.tile(chosen, [count]))
            grads = tf.reshape(grads, tf.shape(noisy))
            return start + count, total + tf.reduce_sum(grads, axis=0)

        _, total = tf.while_loop(lambda start, _: start < n_samples, add_chunk,
                                 (tf.constant(0, tf.int32), tf.zeros_like(images)))
        grads = total / float(n_samples)
        maps = gradient_display(grads, guided=run.guided_probe is not None)
        return run.result(grads, maps, scores, chosen, clean)
