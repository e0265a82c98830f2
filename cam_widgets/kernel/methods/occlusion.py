"""Occlusion: how much the class score drops when a window of the image is covered."""
from __future__ import annotations

import numpy as np
from keras import ops

from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, scale_signed
from cam_widgets.kernel.methods.batching import (
    chunked_sum, copies_per_pass, copy_range, flat_copies, forward_scores, tile_batch,
    with_explained)
from cam_widgets.kernel.methods.options import ChoiceOrValue, Size2D, pair


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Where windows start along one side: every `stride` pixels, plus one flush with
    the far edge so that every pixel is covered."""
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return np.asarray(starts, np.int32)


class Occlusion(Method):
    """Occlusion: the drop of the class score when a window of the image is replaced by
    a fill, for windows sliding over the image; each pixel gets the mean drop of the
    windows that cover it (the same value in every colour channel of `raw`).

    Zeiler & Fergus 2014, "Visualizing and Understanding Convolutional Networks".
    Options: `window` (int or (h, w) pixels), `stride` (int or (h, w); None: the window,
    so windows do not overlap), `fill` ("mean": each image's mean colour, or a number),
    `chunk_size` (occluded images per forward pass). The occluded copies go through the
    model in batches in one compiled function; no gradients are taken. The map is
    signed: covering a window can also raise the score.
    """

    name = "occlusion"
    paper = "Zeiler & Fergus 2014"
    caption = "signed: how much the class score drops when this region is covered"
    uses_layer = False
    guided_variant = False
    signed = True
    options = (
        Size2D("window", 8, int, "side of the covered window, in pixels", low=1, high=100_000),
        Size2D("stride", None, int, "step between windows (None: the window)", low=1,
               high=100_000, none_ok=True),
        ChoiceOrValue("fill", "mean", (str, float), "what covers the window",
                      choices=("mean",)),
        Option("chunk_size", 32, int, "occluded images per forward pass: a bound on memory",
               low=1, high=4096),
    )

    def compute(self, run: Run) -> Attribution:
        clean = run.probe(run.inputs)
        scores, chosen = run.score(clean)
        images = run.explained
        height, width = images.shape[1:3]
        window = pair(run.options["window"])
        stride = pair(run.options["stride"] or run.options["window"])
        if window[0] > height or window[1] > width:
            raise ValueError(
                f"Option 'window' of 'occlusion' is {window} (h, w), larger than the "
                f"images ({height}, {width}); give a window of at most the image size."
            )
        rows, cols = (window_starts(height, window[0], stride[0]),
                      window_starts(width, window[1], stride[1]))
        tops = ops.convert_to_tensor(np.repeat(rows, len(cols)), "int32")
        lefts = ops.convert_to_tensor(np.tile(cols, len(rows)), "int32")
        fill = run.options["fill"]
        fill = (ops.mean(images, axis=(1, 2), keepdims=True) if fill == "mean"
                else float(fill))
        y = ops.arange(height, dtype="int32")[None, :, None]
        x = ops.arange(width, dtype="int32")[None, None, :]

        def dropped_scores(first, count):
            top = ops.take(tops, copy_range(first, count))[:, None, None]
            left = ops.take(lefts, copy_range(first, count))[:, None, None]
            covered = ops.cast((y >= top) & (y < top + window[0])
                               & (x >= left) & (x < left + window[1]), "float32")
            mask = covered[:, None, :, :, None]  # (count, 1, H, W, 1)
            occluded = images[None] * (1.0 - mask) + fill * mask
            occluded_scores = forward_scores(
                run, with_explained(run, flat_copies(occluded), count), tile_batch(chosen, count))
            drops = scores[None] - ops.reshape(occluded_scores, (count, -1))  # (count, B)
            return ops.einsum("pb,phw->bhw", drops, covered)

        n_windows = len(rows) * len(cols)
        per_pass = copies_per_pass(run.options["chunk_size"], ops.shape(images)[0], n_windows)
        total = chunked_sum(n_windows, per_pass, dropped_scores, ops.zeros_like(images[..., 0]))
        covering = np.zeros((height, width), np.float32)
        for top in rows:
            for left in cols:
                covering[top:top + window[0], left:left + window[1]] += 1
        drop = total / ops.convert_to_tensor(covering)
        raw = drop[..., None] + ops.zeros_like(images)
        return run.result(raw, scale_signed(drop), scores, chosen, clean)
