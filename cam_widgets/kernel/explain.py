"""explain: validate a request, run the compiled function over batches, merge."""
from __future__ import annotations

import difflib
import inspect
import warnings
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from cam_widgets.kernel import cancel
from cam_widgets.kernel.compiled import array_options, compiled_functions, explain_function
from cam_widgets.kernel.graph import check_model, leaf_calls
from cam_widgets.kernel.inputs import ImagesLike, as_input_batches, warn_if_unscaled
from cam_widgets.kernel.layers import LayerSpec, resolve_layer, resolve_layers
from cam_widgets.kernel.methods import get_method
from cam_widgets.kernel.probe import read_shape
from cam_widgets.kernel.result import ExplainResult, build_result
from cam_widgets.kernel.segmentation import (
    SegmentationTarget, default_dense_layer, is_dense_output, refuse_class_target,
    segmentation_inputs, warn_if_empty_region)
from cam_widgets.kernel.targets import (
    PREDICTED, TargetSpec, check_class_output, class_count, class_indices,
    looks_like_probabilities, output_shapes, squashes)
from cam_widgets.kernel.token_layers import default_token_layer, grids_for
from cam_widgets.kernel.tokens import check_token_grid

__all__ = ["ExplainResult", "compiled_functions", "explain"]


def _check_channels_last(model: keras.Model) -> None:
    for call in leaf_calls(model):
        if getattr(call.layer, "data_format", None) == "channels_first":
            raise ValueError(
                f"Model {model.name!r} has channels_first layers (the first: "
                f"{call.path!r}, {type(call.layer).__name__}); cam_widgets explains "
                "channels_last images (batch, height, width, channels). Rebuild the model "
                "with `data_format='channels_last'` (or call "
                "`keras.config.set_image_data_format('channels_last')` before building "
                "it) and copy the weights with `new.set_weights(old.get_weights())`: "
                "convolution kernels have the same layout in both formats (a Flatten "
                "before a Dense orders its features differently)."
            )


def _warn_if_probabilities(model: keras.Model, predictions: np.ndarray) -> None:
    """Warn when `logits=True` could not reach the logits and the output looks like
    probabilities (a softmax inside an opaque layer)."""
    calls = leaf_calls(model)
    if not looks_like_probabilities(predictions) or any(
            call.terminal and squashes(call.layer) for call in calls):
        return
    last = [f"{call.path!r} ({type(call.layer).__name__})" for call in calls if call.terminal]
    warnings.warn(
        f"logits=True, but the output of {', '.join(last)} looks like probabilities "
        "(each row in [0, 1] sums to 1) and no final softmax could be found outside it: "
        "the scores explained are probabilities. If that layer applies a softmax "
        "inside, give the model an output before it, or pass logits=False to say "
        "probabilities are meant.",
        UserWarning,
        stacklevel=3,
    )


def _resolve_layers(model, method, layer, input_index, token_grid) -> tuple:
    """(layer calls, their token grids, whether the caller asked for several) for a CAM
    method. Token layers (B, N, D) are read on their patch grid (`kernel.tokens`)."""
    if not method.uses_layer:
        if layer is not None:
            raise ValueError(
                f"Method {method.name!r} reads no layer (it attributes the input pixels), "
                f"so `layer={layer!r}` would be ignored. Drop `layer`, or pick a CAM "
                "method such as 'gradcam'."
            )
        return (), (), False
    several = isinstance(layer, (list, tuple)) or layer == "all"
    if several:
        calls = resolve_layers(model, layer, input_index)
    elif layer is None:
        calls = (default_token_layer(model, input_index)
                 or default_dense_layer(model, input_index)
                 or resolve_layer(model, None, input_index),)
    else:
        calls = (resolve_layer(model, layer, input_index),)
    grids = grids_for(model, calls, input_index, method.name, token_grid)
    return calls, grids, several


def _checked_activations(activations, calls, grids, n_images) -> np.ndarray:
    if len(calls) != 1:
        raise ValueError("`activations` can be given for one layer at a time.")
    activations = np.asarray(activations, np.float32)
    want = (n_images, *read_shape(calls[0], grids[0])[1:])
    if activations.ndim != 4 or any(w not in (None, g) for w, g in zip(want, activations.shape)):
        raise ValueError(
            f"`activations` must be the output of layer {calls[0].path!r} for these "
            f"{n_images} images, shape {want}; got {activations.shape}."
        )
    return activations


def explain(
    model: keras.Model,
    images: ImagesLike,
    *,
    method: str = "gradcam",
    layer: LayerSpec | Sequence[LayerSpec] = None,
    target: TargetSpec = None,
    input_index: int = 0,
    logits: bool = True,
    guided: bool = False,
    activations: np.ndarray | None = None,
    top_k: int | None = None,
    batch_size: int = 32,
    jit_compile: bool = False,
    token_grid: tuple[int, int] | None = None,
    compiled: bool = True,
    **options: Any,
) -> ExplainResult:
    """Attribute the model's score for `images` with `method`.

    `images`: see `inputs.split_images` for what is one image and what a batch.
    `layer`: None (the last layer before space collapses), a path (`path:n` for the
    n-th call of a layer called several times), an index or a Layer.
    `target`: None (predicted class), an int, one int per image (a binary sigmoid head
    has classes 0 and 1), or a callable `f(outputs) -> (B,)` giving one scalar per
    image. `logits=True` explains the value before a final softmax/sigmoid. `guided=True` sends gradients through guided ReLUs. `options` go to
    the method (SmoothGrad: n_samples, noise_level, seed). Large inputs run
    `batch_size` images at a time; `jit_compile=True` compiles with XLA. `compiled=False`
    skips compiling when one uncompiled call is quicker (TensorFlow: eager ops instead
    of a 1.5-3 s trace; other backends compile as usual): the viewer's first map.

    Token layers (B, N, D) of vision transformers are explained on their patch grid,
    found from the patch embedding or the input size, or given as `token_grid=(h, w)`;
    prefix tokens (class, register) are left out. See `kernel.token_layers` for the
    default layer of a token model.

    One pass for many maps (CAM methods): `layer=[...]` or `layer="all"` gives maps
    (B, L, H, W) for L layers from one forward and one backward pass; `top_k=k` gives
    maps (B, k, H, W) for each image's k best classes from one forward pass (only the
    part after the layer runs per class); `activations` (a previous result's
    `.activations`, same images and layer) skips the part before the layer.

    `kernel.cancel.request_stop()` from another thread abandons the call: the long
    methods stop at their next chunk, and `kernel.cancel.Cancelled` is raised (which
    withdraws the stop: the next call runs).
    """
    check_model(model, np.shape(images)[-3:] if hasattr(images, "shape") else None)
    _check_channels_last(model)
    chosen_method = get_method(method)
    _refuse_unknown_arguments(chosen_method, options)
    options = chosen_method.check_options(options)
    if guided and not chosen_method.guided_variant:
        raise ValueError(
            f"Method {method!r} has no guided variant, so `guided=True` would be ignored. "
            "Drop `guided`, or use it with 'saliency', 'smoothgrad' or a gradient-weighted "
            "CAM ('gradcam', 'hirescam', ...)."
        )
    chosen_method.check_model(model, options)
    batches = as_input_batches(model, images)
    if not 0 <= input_index < len(batches):
        raise ValueError(
            f"input_index {input_index} is out of range: the model has {len(batches)} "
            f"input(s) (valid 0..{len(batches) - 1})."
        )
    n_images = batches[0].shape[0]
    if batches[input_index].ndim != 4:
        raise ValueError(
            f"Input {input_index} takes arrays of shape {batches[input_index].shape[1:]}, "
            "not images (batch, height, width, channels): only image inputs can be "
            "explained. Pick the image input with `input_index`."
        )
    warn_if_unscaled(model, batches[input_index], input_index)
    calls, grids, several = _resolve_layers(model, chosen_method, layer, input_index,
                                            check_token_grid(token_grid))
    if activations is not None:
        if not chosen_method.uses_layer:
            raise ValueError(f"`activations` only applies to CAM methods, not {method!r}.")
        activations = _checked_activations(activations, calls, grids, n_images)
    segment = isinstance(target, SegmentationTarget)
    target_fn = target if callable(target) and not segment else None
    if target_fn is None and not segment:
        if is_dense_output(model):
            refuse_class_target(model, target)
        check_class_output(model)
    if top_k is not None:
        _check_top_k(top_k, target, several, activations, model)
    region = None
    if segment:
        if top_k is not None:
            raise ValueError("`top_k` ranks the classes of a (batch, classes) output; it "
                             "does not combine with a SegmentationTarget.")
        indices, region = segmentation_inputs(model, target, n_images)
    elif top_k is not None or target_fn is not None:  # classes chosen in the graph
        indices = np.full(n_images, PREDICTED, np.int64)
    else:
        indices = class_indices(target, n_images, class_count(model))
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")

    host = chosen_method.host_arrays(options, batches[input_index][:1])
    function = explain_function(
        model, chosen_method, calls, grids, input_index,
        bool(guided or chosen_method.forces_guided), logits, target_fn, options,
        tuple(batch.shape[1:] for batch in batches), activations is not None, top_k,
        jit_compile, _region_kind(segment, region), host, compiled)
    parts = []
    for start in range(0, n_images, batch_size):
        window = slice(start, start + batch_size)
        args = [batch[window] for batch in batches] + [indices[window].astype(np.int32)]
        if activations is not None:
            args.append(activations[window])
        args += array_options(options).values()
        args += chosen_method.host_arrays(options, batches[input_index][window]).values()
        if region is not None:
            args.append(region[window])
        part = keras.tree.map_structure(ops.convert_to_numpy, function(*args))
        cancel.check(f"explain(method={chosen_method.name!r})")
        if part["scores"].shape[0] != len(args[0]):
            raise ValueError(
                f"The callable target returned {part['scores'].shape[0]} scores for "
                f"{len(args[0])} images; it must return one scalar per image, shape "
                "(batch,), e.g. `lambda out: out[:, 3]`."
            )
        parts.append(part)
    merged = keras.tree.map_structure(lambda *arrays: np.concatenate(arrays), *parts)
    if segment:  # the region score reports the class it explains
        merged["targets"] = indices
        warn_if_empty_region(target, merged["predictions"])
    elif logits and len(model.outputs) == 1:
        _warn_if_probabilities(model, merged["predictions"])
    return build_result(merged, model, chosen_method, calls, several, guided, input_index)


_OWN_ARGUMENTS = tuple(inspect.signature(explain).parameters)[:-1]  # all but **options


def _refuse_unknown_arguments(method, given: dict[str, Any]) -> None:
    """A TypeError for a keyword that is neither an argument of `explain` nor an option
    of `method`, naming the close matches among both."""
    declared = [option.name for option in method.options]
    for name in given:
        if name in declared:
            continue
        close = difflib.get_close_matches(name, [*_OWN_ARGUMENTS[2:], *declared], n=2,
                                          cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        takes = (f"options of {method.name!r}: {', '.join(declared)}" if declared
                 else f"{method.name!r} takes no options")
        raise TypeError(
            f"explain() got an unknown argument {name!r}.{hint} Its arguments: "
            f"{', '.join(_OWN_ARGUMENTS[2:])}; {takes}."
        )


def _region_kind(segment: bool, region) -> str | None:
    """How a SegmentationTarget's region reaches the compiled function."""
    if not segment:
        return None
    return "predicted" if region is None else "mask"


def _check_top_k(top_k, target, several, activations, model) -> None:
    if target is not None or several or activations is not None:
        raise ValueError("`top_k` chooses the classes itself: use it without `target`, "
                         "a list of layers or `activations`.")
    shapes = output_shapes(model)
    n_classes = shapes[0][-1] if len(shapes) == 1 and len(shapes[0]) == 2 else None
    if n_classes is None or not 1 <= top_k <= n_classes:
        raise ValueError(
            f"top_k={top_k} needs a model with one (batch, classes) output and "
            f"1 <= top_k <= classes ({n_classes})."
        )


