"""Integrated Gradients: input gradients integrated along a straight path from a
baseline image to the input."""
from __future__ import annotations

import math

import numpy as np
from keras import ops

from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, scale_signed
from cam_widgets.kernel.methods.batching import (
    chunked_sum, copies_per_pass, copy_range, flat_copies, tile_batch, with_explained)
from cam_widgets.kernel.methods.options import ChoiceOrValue

BASELINES = ("black", "mean", "blur")


def gaussian_blur(images, sigma: float):
    """(B, H, W, C) blurred by a Gaussian of `sigma` pixels, separably; pixels near the
    border average only what lies inside the image (no dark rim)."""
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    channels = images.shape[-1]
    rows = np.tile(taps.reshape(-1, 1, 1, 1), (1, 1, channels, 1))
    cols = np.tile(taps.reshape(1, -1, 1, 1), (1, 1, channels, 1))

    def blur(x):
        x = ops.depthwise_conv(x, rows, strides=1, padding="same")
        return ops.depthwise_conv(x, cols, strides=1, padding="same")

    return blur(images) / blur(ops.ones_like(images[:1]))


def baseline_images(images, baseline):
    """The baseline of each image: black (zeros), its mean colour, a blur of it (a
    Gaussian of sigma = min(H, W) / 16 pixels), or a given array broadcast to it."""
    if isinstance(baseline, str):
        if baseline == "black":
            return ops.zeros_like(images)
        if baseline == "mean":
            return ops.zeros_like(images) + ops.mean(images, axis=(1, 2), keepdims=True)
        return gaussian_blur(images, min(images.shape[1:3]) / 16)
    image_shape = tuple(images.shape[1:])
    shape = tuple(baseline.shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    try:
        fits = np.broadcast_shapes(shape, image_shape) == image_shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"The baseline array of 'integrated_gradients' has shape {tuple(baseline.shape)}; "
            f"it must broadcast to one image {image_shape}, e.g. an array {image_shape}."
        )
    return ops.zeros_like(images) + ops.reshape(ops.cast(baseline, "float32"), shape)


class IntegratedGradients(Method):
    """Integrated Gradients: (x - x') times the mean input gradient at `steps` points
    on the straight path from the baseline x' to the input x.

    Sundararajan et al. 2017, "Axiomatic Attribution for Deep Networks". The points sit
    at the middle of `steps` equal segments (the midpoint rule), so the attributions sum
    to score(x) - score(x') up to the rule's error (completeness). Options: `steps`;
    `baseline` "black" (zeros), "mean" (each image's mean colour), "blur" (the image
    under a Gaussian of sigma = min(H, W) / 16 px) or an array that broadcasts to one
    image; `chunk_size` bounds the path images per pass. The class is chosen at the
    input. The map is the attribution summed over colour channels, signed (zero at
    mid-scale).
    """

    name = "integrated_gradients"
    paper = "Sundararajan et al. 2017"
    caption = "signed: each pixel's share of the score's change from the baseline"
    uses_layer = False
    guided_variant = False
    signed = True
    options = (
        Option("steps", 50, int, "points on the path from the baseline", low=1, high=100_000),
        ChoiceOrValue("baseline", "black", (str, np.ndarray),
                      "the image the path starts from", choices=BASELINES),
        Option("chunk_size", 32, int, "path images per pass: a bound on memory",
               low=1, high=4096),
    )

    def compute(self, run: Run) -> Attribution:
        steps = run.options["steps"]
        clean = run.probe(run.inputs)
        scores, chosen = run.score(clean)
        images = run.explained
        start = baseline_images(images, run.options["baseline"])
        difference = images - start
        per_pass = copies_per_pass(run.options["chunk_size"], ops.shape(images)[0], steps)

        def path_gradients(first, count):
            alphas = (ops.cast(copy_range(first, count), "float32") + 0.5) / steps
            points = start[None] + alphas[:, None, None, None, None] * difference[None]
            grads, *_ = run.input_gradients(run.probe, with_explained(
                run, flat_copies(points), count), indices=tile_batch(chosen, count))
            return ops.sum(ops.reshape(grads, ops.shape(points)), axis=0)

        total = chunked_sum(steps, per_pass, path_gradients, ops.zeros_like(images))
        attributions = difference * total / float(steps)
        maps = scale_signed(ops.sum(attributions, axis=-1))
        return run.result(attributions, maps, scores, chosen, clean)
