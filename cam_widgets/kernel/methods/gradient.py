"""Methods that read the gradient of the score at the input pixels."""
from __future__ import annotations

import numpy as np
from keras import ops

from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, gradient_display
from cam_widgets.kernel.methods.batching import (
    chunked_sum, copies_per_pass, copy_range, flat_copies, tile_batch, with_explained)


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
    copies. The class is chosen on the clean image. Sample s draws its standard normal
    noise with NumPy from the seed (seed, s), on the host, whatever the chunking and the
    Keras backend, so `chunk_size` changes time and memory, not the map, and every
    backend gives the same map.
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

    def host_arrays(self, options: dict, images: np.ndarray) -> dict[str, np.ndarray]:
        """The noise (B, n_samples, H, W, C): sample s from NumPy's seed (seed, s)."""
        samples = [np.random.default_rng([options["seed"], sample]).standard_normal(
            images.shape, np.float32) for sample in range(options["n_samples"])]
        return {"noise": np.stack(samples, axis=1)}

    def compute(self, run: Run) -> Attribution:
        options = run.options
        n_samples = int(options["n_samples"])
        probe = run.guided_probe or run.probe
        clean = run.probe(run.inputs)
        scores, chosen = run.score(clean)
        images = run.explained
        spread = ops.max(images, axis=(1, 2, 3), keepdims=True) - ops.min(
            images, axis=(1, 2, 3), keepdims=True)
        sigma = float(options["noise_level"]) * spread
        per_pass = copies_per_pass(int(options["chunk_size"]), ops.shape(images)[0], n_samples)

        def chunk_gradients(first, count):
            noise = ops.take(options["noise"], copy_range(first, count), axis=1)
            noise = ops.transpose(noise, (1, 0, 2, 3, 4))  # (count, B, H, W, C)
            noisy = images[None] + sigma[None] * noise  # copy-major
            inputs = with_explained(run, flat_copies(noisy), count)
            grads, *_ = run.input_gradients(probe, inputs, indices=tile_batch(chosen, count))
            return ops.sum(ops.reshape(grads, ops.shape(noisy)), axis=0)

        total = chunked_sum(n_samples, per_pass, chunk_gradients, ops.zeros_like(images))
        grads = total / float(n_samples)
        maps = gradient_display(grads, guided=run.guided_probe is not None)
        return run.result(grads, maps, scores, chosen, clean)
