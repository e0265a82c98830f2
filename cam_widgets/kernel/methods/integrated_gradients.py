"""Integrated Gradients: input gradients integrated along a straight path from a
baseline image to the input."""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, scale_signed
from cam_widgets.kernel.methods.batching import (
    chunked_sum, copies_per_pass, flat_copies, tile_batch, with_explained)
from cam_widgets.kernel.methods.options import ChoiceOrValue

BASELINES = ("black", "mean", "blur")


def gaussian_blur(images: tf.Tensor, sigma: float) -> tf.Tensor:
    """(B, H, W, C) blurred by a Gaussian of `sigma` pixels, separably; pixels near the
    border average only what lies inside the image (no dark rim)."""
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = tf.constant(taps / taps.sum(), tf.float32)
    channels = images.shape[-1]

    def blur(x):
        rows = tf.tile(tf.reshape(taps, (-1, 1, 1, 1)), [1, 1, channels, 1])
        cols = tf.tile(tf.reshape(taps, (1, -1, 1, 1)), [1, 1, channels, 1])
        x = tf.nn.depthwise_conv2d(x, rows, [1, 1, 1, 1], "SAME")
        return tf.nn.depthwise_conv2d(x, cols, [1, 1, 1, 1], "SAME")

    return blur(images) / blur(tf.ones_like(images[:1]))


def baseline_images(images: tf.Tensor, baseline) -> tf.Tensor:
    """The baseline of each image: black (zeros), its mean colour, a blur of it (a
    Gaussian of sigma = min(H, W) / 16 pixels), or a given array broadcast to it."""
    if isinstance(baseline, str):
        if baseline == "black":
            return tf.zeros_like(images)
        if baseline == "mean":
            return tf.broadcast_to(tf.reduce_mean(images, axis=[1, 2], keepdims=True),
                                   tf.shape(images))
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
    return tf.broadcast_to(tf.reshape(tf.cast(baseline, tf.float32), shape), tf.shape(images))


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
        per_pass = copies_per_pass(run.options["chunk_size"], tf.shape(images)[0], steps)

        def path_gradients(first, count):
            alphas = (tf.cast(tf.range(first, first + count), tf.float32) + 0.5) / steps
            points = start[None] + alphas[:, None, None, None, None] * difference[None]
            grads, *_ = run.input_gradients(run.probe, with_explained(
                run, flat_copies(points), count), indices=tile_batch(chosen, count))
            return tf.reduce_sum(tf.reshape(grads, tf.shape(points)), axis=0)

        total = chunked_sum(steps, per_pass, path_gradients, tf.zeros_like(images))
        attributions = difference * total / float(steps)
        maps = scale_signed(tf.reduce_sum(attributions, axis=-1))
        return run.result(attributions, maps, scores, chosen, clean)
