"""Targets for dense outputs: a class's logits summed over a region (Seg-Grad-CAM).

Vinogradova, Dibrov and Myers 2020, "Towards Interpretable Semantic Segmentation via
Gradient-weighted Class Activation Mapping": for a segmentation output y (B, H, W, K)
the score of class c over a set of pixels M is sum_{(i, j) in M} y[i, j, c], and any
CAM method explains that score. M is a mask the user gives, or the pixels the model
predicts as c. A single-channel sigmoid output ((B, H, W) or (B, H, W, 1)) has one
class, 0, predicted where its logit is positive.

The default layer for a dense output is the bottleneck, as in the paper: the last of
the spatial layers with the lowest resolution before the final classifier (the last
layer with weights). Not the layer right before the classifier: Grad-CAM averages the
gradient over space, and through a pointwise linear head (a 1x1 convolution,
resizing) that average is the same for every region up to its size, so every region
would get the same map.
"""
from __future__ import annotations

import warnings

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from cam_widgets.kernel.graph import LayerCall
from cam_widgets.kernel.sublayers import all_calls
from cam_widgets.kernel.targets import output_shapes


@dataclass(frozen=True, eq=False)
class SegmentationTarget:
    """Explain class `class_index` of a segmentation output over a region.

    `mask`: None for the pixels predicted as that class, else an (H, W) mask for every
    image or (B, H, W) one per image, at the output's resolution (non-zero = in the
    region; fractional values weight pixels). The score is the sum of the class's
    logits over the region (the softmax/sigmoid is removed with `logits=True`).
    """

    class_index: int
    mask: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.class_index, bool) or not isinstance(self.class_index, (int, np.integer)):
            raise TypeError(
                f"SegmentationTarget.class_index must be an int class index; got "
                f"{self.class_index!r}."
            )


def is_dense_output(model: keras.Model) -> bool:
    """True for one output shaped like a segmentation: (B, H, W, K), or (B, H, W) at
    the image input's (H, W)."""
    if len(model.outputs) != 1:
        return False
    shape = tuple(model.outputs[0].shape)
    if len(shape) == 4:
        return True
    images = [tuple(ref.shape) for ref in model.inputs if len(ref.shape) == 4]
    return len(shape) == 3 and any(image[1:3] == shape[1:3] for image in images)


def refuse_class_target(model: keras.Model, target: Any) -> None:
    """An int (or None, or per-image ints) target on a dense output is ambiguous."""
    shape = tuple(model.outputs[0].shape)
    raise ValueError(
        f"Model {model.name!r} has a dense output of shape {shape}, not (batch, "
        f"classes): one value per pixel and class, so target={target!r} cannot name one "
        "score (a class index would index the flattened pixels). Pass a callable target "
        "that returns one score per image, or `cam_widgets.SegmentationTarget("
        "class_index, mask=None)` to explain a class over its predicted pixels (or over "
        "a mask)."
    )


def segmentation_inputs(
    model: keras.Model, target: SegmentationTarget, n_images: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(class index per image (B,), region (B, H, W) float32 or None), validated
    against the model's output."""
    if not is_dense_output(model):
        shapes = output_shapes(model)
        raise ValueError(
            f"SegmentationTarget needs a model with one dense output (batch, height, "
            f"width, classes) or (batch, height, width); model {model.name!r} outputs "
            f"{shapes[0] if len(shapes) == 1 else shapes}. Use an int or callable target."
        )
    shape = tuple(model.outputs[0].shape)
    classes = shape[3] if len(shape) == 4 else 1
    if classes is not None and not 0 <= target.class_index < classes:
        raise ValueError(
            f"SegmentationTarget class_index {target.class_index} is out of range: the "
            f"output {shape} has {classes} class(es) (valid 0..{classes - 1})."
        )
    indices = np.full(n_images, int(target.class_index), np.int64)
    if target.mask is None:
        return indices, None
    try:
        mask = np.asarray(target.mask, np.float32)
    except (TypeError, ValueError):
        raise TypeError(
            f"SegmentationTarget.mask must be a numeric or boolean array; got "
            f"{type(target.mask).__name__}."
        ) from None
    size = shape[1:3]
    if mask.ndim == 2:
        mask = np.broadcast_to(mask, (n_images, *mask.shape))
    if mask.ndim != 3 or mask.shape[0] != n_images or any(
            want is not None and got != want for want, got in zip(size, mask.shape[1:])):
        raise ValueError(
            f"SegmentationTarget.mask must be (height, width) = {size} or (images, "
            f"height, width) = ({n_images}, {size[0]}, {size[1]}) at the output's "
            f"resolution; got shape {np.shape(target.mask)}."
        )
    if not np.isfinite(mask).all():
        raise ValueError("SegmentationTarget.mask has non-finite values (NaN or inf).")
    return indices, np.ascontiguousarray(mask)


def warn_if_empty_region(target: SegmentationTarget, predictions: np.ndarray) -> None:
    """Warn when `target` (no mask) has an empty region in some image of a multi-class
    output: the class is predicted at no pixel, so the score is 0 and the map blank."""
    if target.mask is not None or predictions.ndim != 4 or predictions.shape[-1] < 2:
        return
    best = predictions.argmax(axis=-1)
    empty = [i for i, pixels in enumerate((best == target.class_index).sum(axis=(1, 2)))
             if pixels == 0]
    if not empty:
        return
    shown = sorted(set(np.unique(best[empty]).tolist()))
    warnings.warn(
        f"SegmentationTarget({target.class_index}): the model predicts class "
        f"{target.class_index} at no pixel of image(s) {empty}, so the region is empty, "
        f"the score 0 and the map blank there. Explain a class it predicts there "
        f"({', '.join(map(str, shown))}), or pass `mask=` to explain a region of your "
        "choice.", UserWarning, stacklevel=3)


def region_scores(outputs, indices, region):
    """(B,) sum of each image's class logits over its region; the predicted pixels of
    the class when `region` is None (chosen outside the gradient)."""
    rank = len(outputs.shape)
    if rank == 3 or outputs.shape[-1] == 1:  # one sigmoid channel
        class_map = outputs if rank == 3 else outputs[..., 0]
        predicted = ops.cast(ops.stop_gradient(class_map) > 0, class_map.dtype)
    else:
        indices = ops.cast(indices, "int32")
        class_map = ops.take_along_axis(outputs, indices[:, None, None, None], axis=3)[..., 0]
        best = ops.cast(ops.argmax(ops.stop_gradient(outputs), axis=-1), "int32")
        predicted = ops.cast(best == indices[:, None, None], class_map.dtype)
    weights = predicted if region is None else ops.cast(region, class_map.dtype)
    return ops.sum(class_map * weights, axis=(1, 2))


def default_dense_layer(model: keras.Model, input_index: int) -> LayerCall | None:
    """The default layer of a dense-output model (see the module docstring); None for
    other models, or when no spatial layer comes before the classifier."""
    if not is_dense_output(model):
        return None
    calls = [call for call in all_calls(model) if input_index in call.inputs_used
             and not isinstance(call.layer, keras.layers.InputLayer)]
    weighted = [i for i, call in enumerate(calls) if getattr(call.layer, "weights", None)]
    if not weighted:
        return None
    before = [call for call in calls[:weighted[-1]] if len(call.output_shape) == 4
              and None not in call.output_shape[1:3]]
    if not before:
        return None
    smallest = min(call.output_shape[1] * call.output_shape[2] for call in before)
    height, width = model.outputs[0].shape[1:3]
    if height is not None and width is not None and height * width <= smallest:
        return None  # no decoder after the bottleneck (a backbone): the usual last layer
    return [call for call in before
            if call.output_shape[1] * call.output_shape[2] == smallest][-1]
