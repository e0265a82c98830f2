"""Score-CAM: channel weights from the class score of the input masked by each channel."""
from __future__ import annotations

from keras import ops

from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, divide_no_nan
from cam_widgets.kernel.methods.batching import (
    chunked_sum, copies_per_pass, copy_range, flat_copies, forward_scores, tile_batch,
    with_explained)


def top_variance_channels(activations, keep: int | None):
    """(B, h, w, K) -> (B, h, w, N): each image's `keep` channels of largest spatial
    variance, in decreasing order (all K channels when `keep` is None or >= K)."""
    channels = activations.shape[-1]
    if keep is None or keep >= channels:
        return activations
    variance = ops.var(activations, axis=(1, 2))  # (B, K)
    chosen = ops.top_k(variance, keep)[1]
    return ops.take_along_axis(activations, chosen[:, None, None, :], axis=3)


def unit_masks(activations, size: tuple):
    """(B, h, w, c) -> (c, B, H, W, 1): each channel upsampled to the input and stretched
    to [0, 1] per image and channel (a constant channel masks everything out)."""
    upsampled = ops.image.resize(activations, size, interpolation="bilinear")
    low = ops.min(upsampled, axis=(1, 2), keepdims=True)
    high = ops.max(upsampled, axis=(1, 2), keepdims=True)
    masks = divide_no_nan(upsampled - low, high - low)
    return ops.transpose(masks, (3, 0, 1, 2))[..., None]


class ScoreCAM(Method):
    """Score-CAM: each channel of the layer, upsampled and stretched to [0, 1], masks the
    input; its weight is the class score of the masked input minus that of the baseline
    (the input masked out entirely, i.e. zeros). The map is ReLU(sum_k w_k A_k).

    Wang et al. 2020, "Score-CAM: Score-Weighted Visual Explanations for Convolutional
    Neural Networks". Options: `score` "softmax" (the paper's choice: the class
    probability) or "logit"; `max_channels` keeps each image's N channels of largest
    spatial variance (the Faster-ScoreCAM idea of tf-keras-vis), None keeps all;
    `chunk_size` bounds the masked images per forward pass. Masked copies go through the
    model in batches in one compiled function. No gradients are taken. A callable
    target is used as the score as it is.
    """

    name = "scorecam"
    paper = "Wang et al. 2020"
    caption = "bright: layer features whose masked input keeps the class score high"
    uses_layer = True
    guided_variant = False
    options = (
        Option("score", "softmax", str, "the class score of a masked input",
               choices=("softmax", "logit")),
        Option("max_channels", None, int, "the N channels of largest variance (None: all)",
               low=1, high=100_000, none_ok=True),
        Option("chunk_size", 32, int, "masked images per forward pass: a bound on memory",
               low=1, high=4096),
    )

    def compute(self, run: Run) -> Attribution:
        softmax = run.options["score"] == "softmax"
        out = run.probe(run.inputs, run.replacements)
        scores, chosen = run.score(out)
        images = run.explained
        baseline = forward_scores(run, with_explained(run, ops.zeros_like(images), 1),
                                  chosen, softmax)
        cams = [self._cam(run, acts, images, chosen, baseline, softmax)
                for acts in out.activations]
        return run.layer_result(cams, scores, chosen, out)

    def _cam(self, run, activations, images, chosen, baseline, softmax):
        kept = top_variance_channels(activations, run.options["max_channels"])
        n_channels = kept.shape[-1]
        per_pass = copies_per_pass(run.options["chunk_size"], ops.shape(images)[0], n_channels)

        def weighted_channels(start, count):
            part = ops.take(kept, copy_range(start, count), axis=3)  # (B, h, w, count)
            masked = images[None] * unit_masks(part, run.image_size)  # (count, B, H, W, C)
            masked_scores = forward_scores(run, with_explained(run, flat_copies(masked), count),
                                           tile_batch(chosen, count), softmax)
            weights = ops.reshape(masked_scores, (count, -1)) - baseline[None]  # (count, B)
            return ops.einsum("cb,bhwc->bhw", weights, part)

        return chunked_sum(n_channels, per_pass, weighted_channels,
                           ops.zeros_like(activations[..., 0]))
