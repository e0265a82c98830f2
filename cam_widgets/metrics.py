"""Faithfulness and localisation metrics for saliency maps, batched, on top of `explain`.

- pointing game (Zhang et al. 2016, "Top-down Neural Attention by Excitation Backprop"),
- energy in box (Wang et al. 2020, "Score-CAM"),
- deletion and insertion curves with their AUC (Petsiuk et al. 2018, "RISE"),
- ROAD, remove and debias (Rong et al. 2022, "A Consistent and Efficient Evaluation
  Strategy for Attribution Methods"),
- the model-randomisation sanity check (Adebayo et al. 2018, "Sanity Checks for
  Saliency Maps").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cam_widgets._tf_startup import import_keras_quietly

import_keras_quietly()  # before Keras loads TensorFlow: no start-up notices

import keras  # noqa: E402
import numpy as np

from cam_widgets.imputation import impute
from cam_widgets.kernel import cancel, explain
from cam_widgets.kernel.compiled import forward_function
from cam_widgets.kernel.targets import class_probabilities, sigmoid_head
from cam_widgets.kernel.graph import leaf_calls
from cam_widgets.sanity import SanityCheck, randomisable_layers, sanity_check

__all__ = [
    "Curves", "RoadCurves", "SanityCheck", "deletion_insertion", "energy_in_box",
    "energy_in_mask", "pointing_game", "pointing_game_in_mask", "randomisation_check",
    "rank_correlation", "road", "sanity_check",
]


def _check_maps_boxes(maps: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    maps, boxes = np.asarray(maps, np.float32), np.asarray(boxes)
    if maps.ndim != 3 or boxes.shape != (maps.shape[0], 4):
        raise ValueError(
            f"Expected maps (B, H, W) and boxes (B, 4) as (y0, x0, y1, x1); got maps "
            f"{maps.shape} and boxes {boxes.shape}."
        )
    return maps, boxes


def _inside(boxes: np.ndarray, height: int, width: int, margin: int = 0) -> np.ndarray:
    """Boolean masks (B, H, W) of the boxes, grown by `margin` pixels."""
    rows, cols = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    y0, x0, y1, x1 = (boxes[:, i, None, None] for i in range(4))
    return ((rows >= y0 - margin) & (rows < y1 + margin)
            & (cols >= x0 - margin) & (cols < x1 + margin))


def pointing_game(maps: np.ndarray, boxes: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """Per image, True when the map's maximum lies in the box (grown by `tolerance` px).

    Ties count as a hit when any maximal pixel is inside; an all-equal map is a miss
    (it points nowhere).
    """
    maps, boxes = _check_maps_boxes(maps, boxes)
    return _points_into(maps, _inside(boxes, *maps.shape[1:], margin=tolerance))


def energy_in_box(maps: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Per image, the fraction of the map's total inside the box (0 for an all-zero map)."""
    maps, boxes = _check_maps_boxes(maps, boxes)
    return _share_inside(maps, _inside(boxes, *maps.shape[1:]))


def _check_maps_masks(maps: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    maps, masks = np.asarray(maps, np.float32), np.asarray(masks)
    if maps.ndim != 3 or masks.shape != maps.shape:
        raise ValueError(
            f"Expected maps (B, H, W) and object masks of the same shape; got maps "
            f"{maps.shape} and masks {masks.shape}."
        )
    return maps, masks.astype(bool)


def pointing_game_in_mask(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """`pointing_game` with the object's pixel mask (B, H, W) in place of its box."""
    return _points_into(*_check_maps_masks(maps, masks))


def energy_in_mask(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """`energy_in_box` with the object's pixel mask (B, H, W) in place of its box."""
    return _share_inside(*_check_maps_masks(maps, masks))


def _points_into(maps: np.ndarray, inside: np.ndarray) -> np.ndarray:
    peaks = maps == maps.max(axis=(1, 2), keepdims=True)
    flat = maps.max(axis=(1, 2)) == maps.min(axis=(1, 2))
    return (peaks & inside).any(axis=(1, 2)) & ~flat


def _share_inside(maps: np.ndarray, inside: np.ndarray) -> np.ndarray:
    total = maps.sum(axis=(1, 2))
    within = (maps * inside).sum(axis=(1, 2))
    return np.divide(within, total, out=np.zeros_like(total), where=total > 0)


@dataclass(frozen=True)
class Curves:
    """Deletion and insertion curves: the class score as pixels are removed or added."""

    fractions: np.ndarray  # (S + 1,) share of pixels changed, 0 .. 1
    deletion: np.ndarray  # (B, S + 1) score as the most salient pixels are removed first
    insertion: np.ndarray  # (B, S + 1) score as they are added first to the baseline

    @property
    def deletion_auc(self) -> np.ndarray:
        """(B,) area under the deletion curve: lower is more faithful."""
        return np.trapezoid(self.deletion, self.fractions, axis=1)

    @property
    def insertion_auc(self) -> np.ndarray:
        """(B,) area under the insertion curve: higher is more faithful."""
        return np.trapezoid(self.insertion, self.fractions, axis=1)


def _ranks(maps: np.ndarray) -> np.ndarray:
    """(B, H, W) rank of each pixel by the map, 0 for the highest (ties in raster order)."""
    n, height, width = maps.shape
    order = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(height * width)[None], axis=1)
    return rank.reshape(n, height, width)


def _outputs(model: keras.Model):
    """outputs(images, batch_size) -> the model's output for every image, in batches,
    one column per class (a binary sigmoid head's p becomes (1 - p, p)). A stop
    requested meanwhile (`kernel.cancel`) raises `Cancelled` before the next batch."""
    binary = sigmoid_head(model)

    def outputs(images: np.ndarray, batch_size: int) -> np.ndarray:
        forward = forward_function(model, images.shape[1:])
        images = images.astype(np.float32, copy=False)
        parts = []
        for first in range(0, len(images), batch_size):
            cancel.check("a metric's forward passes")
            parts.append(forward(images[first:first + batch_size]))
        out = np.concatenate(parts)
        return class_probabilities(out, binary) if binary else out

    return outputs


def _scorer(model: keras.Model):
    outputs = _outputs(model)

    def score(images: np.ndarray, targets: np.ndarray, batch_size: int) -> np.ndarray:
        return np.take_along_axis(outputs(images, batch_size), targets[:, None], axis=1)[:, 0]

    return score


def deletion_insertion(
    model: keras.Model, images: np.ndarray, maps: np.ndarray, targets: np.ndarray,
    steps: int = 32, baseline: float | np.ndarray | str = "mean", batch_size: int = 256,
) -> Curves:
    """Deletion and insertion curves (Petsiuk et al. 2018) of `maps` for `targets`.

    Pixels are ranked by the map (ties in raster order). Step s replaces the top s/steps
    of them with `baseline` (deletion) or puts them onto the baseline (insertion); the
    score is the model's own output for the target class (a probability for a softmax
    model). `baseline` is "mean" (each image's mean colour: removed pixels carry no
    colour cue, where black can itself look like an object), a value, or an image array
    broadcastable to `images`.
    """
    images = np.asarray(images, np.float32)
    maps = np.asarray(maps, np.float32)
    targets = np.asarray(targets, np.int64)
    n, height, width = maps.shape
    if images.shape[:3] != maps.shape or targets.shape != (n,):
        raise ValueError(
            f"images {images.shape}, maps {maps.shape} and targets {targets.shape} must "
            "describe the same (B, H, W) images."
        )
    if steps < 1:
        raise ValueError(f"steps must be >= 1; got {steps}.")
    if isinstance(baseline, str):
        if baseline != "mean":
            raise ValueError(f"baseline must be 'mean', a number or an array; got {baseline!r}.")
        baseline = images.mean(axis=(1, 2), keepdims=True)
    blank = np.broadcast_to(np.asarray(baseline, np.float32), images.shape)
    rank = _ranks(maps)[..., None]
    fractions = np.linspace(0.0, 1.0, steps + 1)
    score = _scorer(model)

    def changed(step: int) -> np.ndarray:  # step 2s deletes, 2s + 1 inserts fraction s
        removed = rank < round(fractions[step // 2] * height * width)
        return np.where(removed, blank, images) if step % 2 == 0 else np.where(
            removed, images, blank)

    # Several steps share one forward call (up to `batch_size` images): one image's
    # curves then cost a few large batches, not 2 (S + 1) calls of one image.
    per_call = max(1, batch_size // n)
    scores = []
    for first in range(0, 2 * len(fractions), per_call):
        chosen = range(first, min(first + per_call, 2 * len(fractions)))
        batch = np.concatenate([changed(step) for step in chosen])
        scores.append(score(batch, np.tile(targets, len(chosen)), batch_size))
    both = np.concatenate(scores).reshape(len(fractions), 2, n)
    return Curves(fractions, both[:, 0].T, both[:, 1].T)


@dataclass(frozen=True)
class RoadCurves:
    """ROAD: the class score after the most (MoRF) or least (LeRF) relevant pixels are
    removed and imputed, at each percentile of pixels removed."""

    percentiles: np.ndarray  # (P,) share of pixels removed, in percent
    morf: np.ndarray  # (B, P) score with the most relevant pixels removed: lower is better
    lerf: np.ndarray  # (B, P) score with the least relevant pixels removed: higher is better
    morf_correct: np.ndarray  # (B, P) whether the target class is still the prediction
    lerf_correct: np.ndarray  # (B, P)

    @property
    def morf_mean(self) -> np.ndarray:
        """(B,) MoRF score averaged over the percentiles: lower is more faithful."""
        return self.morf.mean(axis=1)

    @property
    def lerf_mean(self) -> np.ndarray:
        """(B,) LeRF score averaged over the percentiles: higher is more faithful."""
        return self.lerf.mean(axis=1)


def road(
    model: keras.Model, images: np.ndarray, maps: np.ndarray, targets: np.ndarray,
    percentiles: tuple[float, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90),
    noise: float = 0.01, seed: int = 0, batch_size: int = 256,
) -> RoadCurves:
    """ROAD (Rong et al. 2022) of `maps` for `targets`: remove and debias.

    For each percentile p, the p% pixels ranked highest by the map (MoRF) or lowest
    (LeRF) are removed and filled by noisy linear imputation (`cam_widgets.imputation`:
    each removed pixel is the weighted mean of its 8 neighbours, plus Gaussian noise of
    std `noise`), so the model sees no tell-tale hole, then the model scores the image
    (its own output for the target class: a probability for a softmax model). Pixels
    are ranked by the map with ties in raster order, as in `deletion_insertion`.
    """
    images = np.asarray(images, np.float32)
    maps = np.asarray(maps, np.float32)
    targets = np.asarray(targets, np.int64)
    n, height, width = maps.shape
    if images.ndim != 4 or images.shape[:3] != maps.shape or targets.shape != (n,):
        raise ValueError(
            f"images {images.shape}, maps {maps.shape} and targets {targets.shape} must "
            "describe the same (B, H, W) images."
        )
    percentiles = np.asarray(percentiles, np.float64)
    if percentiles.ndim != 1 or not len(percentiles) or not (
            (percentiles > 0) & (percentiles < 100)).all():
        raise ValueError(f"percentiles must be numbers in (0, 100), e.g. (10, 50, 90); got "
                         f"{percentiles.tolist()}.")
    rank = _ranks(maps)
    rng = np.random.default_rng(seed)
    removed_images = {"morf": [], "lerf": []}
    for percent in percentiles:
        count = int(round(percent / 100 * height * width))
        for order, removed in (("morf", rank < count), ("lerf", rank >= height * width - count)):
            removed_images[order].append(impute(images, removed, noise, rng))
    outputs = _outputs(model)
    curves = {}
    for order, stacks in removed_images.items():
        out = outputs(np.concatenate(stacks), batch_size).reshape(len(percentiles), n, -1)
        picked = np.broadcast_to(targets[None, :, None], (len(percentiles), n, 1))
        curves[order] = np.take_along_axis(out, picked, axis=2)[..., 0].T
        curves[f"{order}_correct"] = (out.argmax(axis=2) == targets[None]).T
    return RoadCurves(percentiles, **curves)


def rank_correlation(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per image Spearman rank correlation of two (B, H, W) maps (ties ranked in order)."""
    def ranks(maps):
        flat = maps.reshape(len(maps), -1)
        out = np.empty_like(flat)
        np.put_along_axis(out, np.argsort(flat, axis=1, kind="stable"),
                          np.arange(flat.shape[1], dtype=flat.dtype)[None], axis=1)
        return out - out.mean(axis=1, keepdims=True)

    a, b = ranks(np.asarray(first, np.float64)), ranks(np.asarray(second, np.float64))
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def randomisation_check(
    model: keras.Model, images: Any, top_layers: int = 1, method: str = "gradcam",
    seed: int = 0, **explain_kwargs: Any,
) -> SanityCheck:
    """The last `top_layers` weighted layers of a copy of `model` randomised at once: the
    last step of `sanity_check(model, images, layers=top_layers, cascade=True)`, whose
    result it returns (`layers_reset`, `original`, `randomised`, `rank_correlation`)."""
    weighted = randomisable_layers(model)
    if not 1 <= top_layers <= len(weighted):
        raise ValueError(
            f"top_layers must be between 1 and {len(weighted)} (the layers with weights); "
            f"got {top_layers}.")
    return sanity_check(model, images, method=method, layers=top_layers, seed=seed,
                        **explain_kwargs)
