"""explain / explain_dataset: validation, batching and the compiled-function cache."""
from __future__ import annotations

import functools
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from cam_widgets.kernel.graph import check_model, leaf_calls
from cam_widgets.kernel.guided import GuidedCoverage, coverage
from cam_widgets.kernel.inputs import ImagesLike, as_input_batches, warn_if_unscaled
from cam_widgets.kernel.layers import LayerSpec, call_name, resolve_layer, resolve_layers
from cam_widgets.kernel.methods import get_method
from cam_widgets.kernel.methods.base import Run
from cam_widgets.kernel.probe import Probe
from cam_widgets.kernel.progress import image_bar, progress_wanted
from cam_widgets.kernel.segmentation import (
    SegmentationTarget, default_dense_layer, is_dense_output, refuse_class_target, region_scores,
    segmentation_inputs)
from cam_widgets.kernel.targets import (
    PREDICTED, TargetSpec, check_class_output, class_count, class_indices, label_indices,
    looks_like_probabilities, output_shapes, squashes, target_key)
from cam_widgets.kernel.token_layers import default_token_layer, grids_for
from cam_widgets.kernel.tokens import check_token_grid


@dataclass
class ExplainResult:
    """Attributions of a batch.

    Shape rule: the first axis is the image (B). Asking for several of something adds
    ONE axis right after it, in every field that varies with it, and only then:
    `top_k=k` adds a class axis k to `maps`, `raw`, `targets` and `scores` (also for
    k=1); `layer=[...]` or `layer="all"` adds a layer axis L to `maps` and makes `raw`
    and `activations` lists of L arrays (layers differ in size), while `targets` and
    `scores` stay (B,) (every layer explains the same score). One layer and one class
    per image (the default) add no axis.

    Attributes
    ----------
    maps : float32 (B, H, W) in [0, 1] at the explained input's resolution; (B, L, H, W)
        for a list of L layers, (B, k, H, W) with `top_k`.
    raw : float32, signed and unnormalised: the CAM (B, h, w) at layer resolution, or
        the input gradients (B, H, W, C); (B, k, ...) with `top_k`; a list with one
        (B, h_l, w_l) array per layer for a list of layers.
    targets : int64 (B,) class index per image (-1 for a callable target; 0/1 for a
        binary (B, 1) head); (B, k) with `top_k`.
    scores : float32 (B,) the differentiated score per image; (B, k) with `top_k`.
    layer : the resolved layer (a list for several), None for gradient methods; a path,
        with `:n` when that layer is called several times on the explained branch, so
        `explain(..., layer=res.layer)` explains the same call.
    method : the method's registry name.
    signed : True when the map keeps a meaningful sign (guided gradients, signed
        methods): zero is then mid-scale in `maps`, and a diverging colormap fits.
    predictions : float32 (B, K) the model's own output, for single-output models.
    activations : the read layer's output (a list for several), CAM methods only.
    guided_coverage : which ReLUs were guided, when gradients were guided.
    """

    maps: np.ndarray
    raw: np.ndarray | list[np.ndarray]
    targets: np.ndarray
    scores: np.ndarray
    layer: str | list[str] | None
    method: str
    signed: bool = False
    predictions: np.ndarray | None = None
    activations: np.ndarray | list[np.ndarray] | None = None
    guided_coverage: GuidedCoverage | None = None


# model -> {key: tf.function}, least recently used first; weak, so a deleted model
# takes its functions with it, and bounded, so changing callables cannot grow it forever.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_FUNCTIONS_PER_MODEL = 32


def compiled_functions(model: keras.Model) -> dict:
    """The compiled functions cached for `model` (for inspection and tests)."""
    return _COMPILED.get(model, {})


def _compiled(model, key, build: Callable[[], Callable]) -> Callable:
    functions = _COMPILED.setdefault(model, OrderedDict())
    if key not in functions:
        functions[key] = build()
        while len(functions) > _MAX_FUNCTIONS_PER_MODEL:
            functions.popitem(last=False)
    functions.move_to_end(key)
    return functions[key]


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


def _read_shape(call, grid) -> tuple:
    """The shape a read layer is given in: its output, or its patch grid."""
    if grid is None:
        return tuple(call.output_shape)
    return (call.output_shape[0], grid.height, grid.width, call.output_shape[-1])


def _checked_activations(activations, calls, grids, n_images) -> np.ndarray:
    if len(calls) != 1:
        raise ValueError("`activations` can be given for one layer at a time.")
    activations = np.asarray(activations, np.float32)
    want = (n_images, *_read_shape(calls[0], grids[0])[1:])
    if activations.ndim != 4 or any(w not in (None, g) for w, g in zip(want, activations.shape)):
        raise ValueError(
            f"`activations` must be the output of layer {calls[0].path!r} for these "
            f"{n_images} images, shape {want}; got {activations.shape}."
        )
    return activations


def explain(
    model: keras.Model,
    images: ImagesLike,
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
    `batch_size` images at a time; `jit_compile=True` compiles with XLA.

    Token layers (B, N, D) of vision transformers are explained on their patch grid,
    found from the patch embedding or the input size, or given as `token_grid=(h, w)`;
    prefix tokens (class, register) are left out. See `kernel.token_layers` for the
    default layer of a token model.

    One pass for many maps (CAM methods): `layer=[...]` or `layer="all"` gives maps
    (B, L, H, W) for L layers from one forward and one backward pass; `top_k=k` gives
    maps (B, k, H, W) for each image's k best classes from one forward pass (only the
    part after the layer runs per class); `activations` (a previous result's
    `.activations`, same images and layer) skips the part before the layer.
    """
    check_model(model, np.shape(images)[-3:] if hasattr(images, "shape") else None)
    _check_channels_last(model)
    chosen_method = get_method(method)
    options = chosen_method.check_options(options)
    if guided and not chosen_method.guided_variant:
        raise ValueError(
            f"Method {method!r} has no guided variant, so `guided=True` would be ignored. "
            "Drop `guided`, or use it with 'saliency', 'smoothgrad' or a gradient-weighted "
            "CAM ('gradcam', 'hirescam', ...)."
        )
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

    function = _function(
        model, chosen_method, calls, grids, input_index,
        bool(guided or chosen_method.forces_guided), logits, target_fn, options,
        tuple(batch.shape[1:] for batch in batches), activations is not None, top_k,
        jit_compile, _region_kind(segment, region))
    parts = []
    for start in range(0, n_images, batch_size):
        window = slice(start, start + batch_size)
        args = [batch[window] for batch in batches] + [indices[window]]
        if activations is not None:
            args.append(activations[window])
        args += _array_options(options).values()
        if region is not None:
            args.append(region[window])
        part = tf.nest.map_structure(lambda t: t.numpy(), function(*args))
        if part["scores"].shape[0] != len(args[0]):
            raise ValueError(
                f"The callable target returned {part['scores'].shape[0]} scores for "
                f"{len(args[0])} images; it must return one scalar per image, shape "
                "(batch,), e.g. `lambda out: out[:, 3]`."
            )
        parts.append(part)
    merged = tf.nest.map_structure(lambda *arrays: np.concatenate(arrays), *parts)
    if segment:  # the region score reports the class it explains
        merged["targets"] = indices
    elif logits and len(model.outputs) == 1:
        _warn_if_probabilities(model, merged["predictions"])
    return _result(merged, model, chosen_method, calls, several, guided, input_index)


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


def _float32(arrays):
    return tf.nest.map_structure(lambda a: np.asarray(a, np.float32), arrays)


def _result(merged, model, method, calls, several, guided, input_index) -> ExplainResult:
    raw, found = _float32(merged["raw"]), merged.get("activations")
    maps = merged["maps"]
    if method.uses_layer and not several:  # one layer: drop the layer axis
        maps, raw, found = maps[..., 0, :, :], raw[0], found[0]
    paths = [call_name(model, call, input_index) for call in calls]
    return ExplainResult(
        maps=maps.astype(np.float32),
        raw=raw,
        targets=merged["targets"].astype(np.int64),
        scores=merged["scores"].astype(np.float32),
        layer=(paths if several else paths[0]) if paths else None,
        method=method.name,
        signed=method.signed_map(guided),
        predictions=(merged["predictions"].astype(np.float32)
                     if len(model.outputs) == 1 else None),
        activations=found,
        guided_coverage=_coverage(model) if guided or method.forces_guided else None,
    )


def _coverage(model: keras.Model) -> GuidedCoverage:
    report = coverage(leaf_calls(model))
    if not report.complete:
        warnings.warn(
            "Guided ReLU could not be applied everywhere, so these gradients are partly "
            f"vanilla:\n{report.summary()}",
            UserWarning,
            stacklevel=4,
        )
    return report


def _repeat(tensor: tf.Tensor, times: int) -> tf.Tensor:
    return tf.repeat(tensor, times, axis=0)


class CompiledKey(NamedTuple):
    """What makes one compiled function: everything about a call but its values."""

    method: str
    layers: tuple[tuple[str, int], ...]  # (path, ordinal) of each read layer call
    grids: tuple  # token grids of the read layers (None for spatial layers)
    input_index: int
    guided: bool
    logits: bool
    target: Any  # target_key of a callable target, else None
    options: tuple[tuple[str, Any], ...]  # sorted; array options as ("array", shape)
    shapes: tuple  # per-input image shapes
    with_activations: bool
    top_k: int | None
    jit_compile: bool
    region_kind: str | None  # how a SegmentationTarget's region is given


def _array_options(options: dict[str, Any]) -> dict[str, np.ndarray]:
    """The options given as arrays (an image baseline, say), in name order."""
    return {name: options[name] for name in sorted(options)
            if isinstance(options[name], np.ndarray)}


def _function(model, method, calls, grids, input_index, guided, logits, target_fn, options,
              shapes, with_activations, top_k, jit_compile, region_kind=None) -> Callable:
    """The compiled function for this kind of call, traced once per input shape family.

    Arguments: the input batches, the class indices, the read layer's given output (with
    `activations`), the array options (passed as tensors: one trace for any values),
    and for a SegmentationTarget with a mask (`region_kind` "mask") the mask, so every
    class and mask of one output shape share one trace."""
    arrays = _array_options(options)
    settings = {name: ("array", value.shape) if name in arrays else value
                for name, value in options.items()}
    key = CompiledKey(
        method.name, tuple((c.path, c.ordinal) for c in calls), grids, input_index, guided,
        logits, None if target_fn is None else target_key(target_fn),
        tuple(sorted(settings.items())), shapes, with_activations, top_k, jit_compile,
        region_kind)

    def build() -> Callable:
        probe = Probe(model, calls, guided=False, logits=logits, grids=grids)
        guided_probe = (Probe(model, calls, guided=True, logits=logits, grids=grids)
                        if guided else None)
        signature = [tf.TensorSpec((None, *shape), tf.float32) for shape in shapes]
        signature.append(tf.TensorSpec((None,), tf.int64))
        if with_activations:
            signature.append(tf.TensorSpec((None, *_read_shape(calls[0], grids[0])[1:]),
                                           tf.float32))
        signature += [tf.TensorSpec(value.shape, tf.float32) for value in arrays.values()]
        if region_kind == "mask":
            signature.append(tf.TensorSpec((None, *model.outputs[0].shape[1:3]), tf.float32))

        def run(*args):
            inputs, indices = list(args[:len(shapes)]), args[len(shapes)]
            given = len(shapes) + 1 + int(with_activations)
            replacements = list(args[len(shapes) + 1:given]) or None
            options = {**settings, **dict(zip(arrays, args[given:given + len(arrays)]))}
            score_fn = target_fn
            if region_kind is not None:
                region = args[-1] if region_kind == "mask" else None
                score_fn = lambda outputs: region_scores(outputs, indices, region)  # noqa: E731
            if top_k is None:
                return method.compute(Run(probe, guided_probe, inputs, input_index, indices,
                                          score_fn, replacements, dict(options)))
            # One forward pass picks the k best classes and, for CAM methods, gives the
            # layer's output; each class then runs only the part after the layer.
            first = probe(inputs)
            best = tf.math.top_k(tf.stop_gradient(first.scores_from[0]), top_k).indices
            if calls:
                replacements = [_repeat(acts, top_k) for acts in first.activations]
            tiled = Run(probe, guided_probe, [_repeat(x, top_k) for x in inputs], input_index,
                        tf.reshape(tf.cast(best, tf.int64), (-1,)), None, replacements,
                        dict(options))
            result = method.compute(tiled)
            batch = tf.shape(inputs[0])[0]
            unfold = lambda t: tf.reshape(t, tf.concat([[batch, top_k], tf.shape(t)[1:]], 0))  # noqa: E731
            return {"raw": tf.nest.map_structure(unfold, result["raw"]),
                    "maps": unfold(result["maps"]), "scores": unfold(result["scores"]),
                    "targets": unfold(result["targets"]),
                    "predictions": first.model_outputs[0],
                    "activations": first.activations}

        # autograph off: the walk is plain Python over layers, and converting it
        # doubled the trace time of large models. The partial gives each function its
        # own identity: TF counts traces per code object, and would warn of "frequent
        # retracing" after five different functions traced once each.
        return tf.function(functools.partial(run), input_signature=signature,
                           reduce_retracing=True, autograph=False, jit_compile=jit_compile)

    return _compiled(model, key, build)


def explain_dataset(
    model: keras.Model, dataset: tf.data.Dataset, method: str = "gradcam",
    target: TargetSpec | str = None, progress: bool | None = None, **kwargs: Any,
) -> Iterator[ExplainResult]:
    """`explain` over a batched `tf.data.Dataset`, one result per batch.

    Elements are image batches, or `(images, labels)`; `target="label"` explains each
    image's label. For a multi-input model, images are a tuple with one batch per input.
    One compiled function serves every batch (no retracing). `progress=True` shows a
    tqdm bar counting images (images/s); None (the default) shows it in notebooks only.
    """
    check_model(model)
    show = progress_wanted(progress)
    bar = image_bar(show, _image_count(dataset) if show else None, method)
    try:
        for result in _explain_batches(model, dataset, method, target, **kwargs):
            bar.update(len(result.targets))
            yield result
        if bar.total is not None and bar.n != bar.total:  # the estimate was an upper bound
            bar.total = bar.n
            bar.refresh()
    finally:
        bar.close()


def _image_count(dataset: tf.data.Dataset) -> int | None:
    """Batches x static batch size when both are known (an upper bound), else None."""
    batches = int(dataset.cardinality())
    spec = tf.nest.flatten(dataset.element_spec)[0]
    if batches < 0 or spec.shape.rank is None or spec.shape[0] is None:
        return None
    return batches * int(spec.shape[0])


def _explain_batches(model, dataset, method, target, **kwargs) -> Iterator[ExplainResult]:
    n_inputs = len(model.inputs)
    for element in dataset:
        labels = None
        if isinstance(element, (tuple, list)):
            if n_inputs == 1 and len(element) == 2:
                element, labels = element
            elif n_inputs > 1 and len(element) == 2 and isinstance(element[0], (tuple, list)):
                element, labels = element
        batch_target = target
        if isinstance(target, str):
            if target != "label":
                raise ValueError(f"target={target!r} is not known; use 'label', None, an int, ints or a callable.")
            if labels is None:
                raise ValueError(
                    "target='label' needs a dataset of (images, labels) pairs; this one "
                    "yields images only."
                )
            batch_target = label_indices(labels)
        images = list(element) if n_inputs > 1 else element
        yield explain(model, images, method=method, target=batch_target, **kwargs)
