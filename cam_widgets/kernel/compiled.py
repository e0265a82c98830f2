"""The compiled explain functions: one per kind of call, cached per model.

A `CompiledKey` holds everything about a call but its values; the function it names
is compiled by the Keras backend's module (`kernel.backends`) for arguments with a free
batch axis, and reads the model's current weights at every call.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

import keras
import numpy as np
from keras import ops

from cam_widgets.kernel import backends
from cam_widgets.kernel.methods.base import Run
from cam_widgets.kernel.probe import Probe, read_shape
from cam_widgets.kernel.segmentation import region_scores
from cam_widgets.kernel.targets import target_key

# model -> {key: function}, least recently used first; weak, so a deleted model takes
# its functions with it, and bounded, so changing callables cannot grow it forever.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_FUNCTIONS_PER_MODEL = 32


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
    host_arrays: tuple[tuple[str, tuple], ...]  # name and per-image shape of each


def compiled_functions(model: keras.Model) -> dict:
    """The compiled functions cached for `model` (for inspection and tests)."""
    return _COMPILED.get(model, {})


def _cached(model, key: Hashable, build: Callable[[], Callable]) -> Callable:
    functions = _COMPILED.setdefault(model, OrderedDict())
    if key not in functions:
        functions[key] = build()
        while len(functions) > _MAX_FUNCTIONS_PER_MODEL:
            functions.popitem(last=False)
    functions.move_to_end(key)
    return functions[key]


def forward_function(model: keras.Model, image_shape: tuple) -> Callable:
    """The model's forward pass (inference mode) compiled for batches of one image shape,
    returning NumPy arrays; cached with the explain functions."""
    reference = weakref.ref(model)

    def build() -> Callable:
        def forward(images):
            return reference()(images, training=False)

        compiled = backends.current().compile(
            forward, lambda: reference().variables, [((None, *image_shape), "float32")],
            False)
        return lambda images: keras.tree.map_structure(ops.convert_to_numpy,
                                                       compiled(images))

    return _cached(model, ("forward", tuple(image_shape)), build)


def array_options(options: dict[str, Any]) -> dict[str, np.ndarray]:
    """The options given as arrays (an image baseline, say), in name order."""
    return {name: options[name] for name in sorted(options)
            if isinstance(options[name], np.ndarray)}


def explain_function(model, method, calls, grids, input_index, guided, logits, target_fn,
                     options, shapes, with_activations, top_k, jit_compile, region_kind,
                     host_arrays: dict[str, np.ndarray]) -> Callable:
    """The compiled function for this kind of call, compiled once per input shape family.

    Arguments: the input batches, the class indices, the read layer's given output (with
    `activations`), the array options (passed as tensors: one trace for any values), the
    method's host arrays (batch first), and for a SegmentationTarget with a mask
    (`region_kind` "mask") the mask, so every class and mask of one output shape share
    one trace. It returns the method's Attribution as a dict of tensors."""
    arrays = array_options(options)
    settings = {name: ("array", value.shape) if name in arrays else value
                for name, value in options.items()}
    host = {name: value.shape[1:] for name, value in host_arrays.items()}
    key = CompiledKey(
        method.name, tuple((c.path, c.ordinal) for c in calls), grids, input_index, guided,
        logits, None if target_fn is None else target_key(target_fn),
        tuple(sorted(settings.items())), shapes, with_activations, top_k, jit_compile,
        region_kind, tuple(host.items()))

    def build() -> Callable:
        probe = Probe(model, calls, guided=False, logits=logits, grids=grids)
        guided_probe = (Probe(model, calls, guided=True, logits=logits, grids=grids)
                        if guided else None)
        signature = [((None, *shape), "float32") for shape in shapes]
        signature.append(((None,), "int32"))
        if with_activations:
            signature.append(((None, *read_shape(calls[0], grids[0])[1:]), "float32"))
        signature += [(value.shape, "float32") for value in arrays.values()]
        signature += [((None, *shape), "float32") for shape in host.values()]
        if region_kind == "mask":
            signature.append(((None, *model.outputs[0].shape[1:3]), "float32"))
        named = [*arrays, *host]

        def run(*args):
            inputs, indices = list(args[:len(shapes)]), args[len(shapes)]
            given = len(shapes) + 1 + int(with_activations)
            replacements = list(args[len(shapes) + 1:given]) or None
            values = dict(zip(named, args[given:given + len(named)]))
            run_options = {**settings, **values}
            score_fn = target_fn
            if region_kind is not None:
                region = args[-1] if region_kind == "mask" else None
                score_fn = lambda outputs: region_scores(outputs, indices, region)  # noqa: E731
            if top_k is None:
                return method.compute(Run(probe, guided_probe, inputs, input_index, indices,
                                          score_fn, replacements, run_options)).as_dict()
            return _top_k(method, probe, guided_probe, inputs, input_index, top_k, calls,
                          run_options)

        return backends.current().compile(run, lambda: probe.model.variables, signature,
                                          jit_compile)

    return _cached(model, key, build)


def _top_k(method, probe, guided_probe, inputs, input_index, top_k, calls, options) -> dict:
    """One forward pass picks the k best classes and, for CAM methods, gives the layer's
    output; each class then runs only the part after the layer."""
    first = probe(inputs)
    best = ops.top_k(ops.stop_gradient(first.scores_from[0]), top_k)[1]
    replacements = ([ops.repeat(acts, top_k, axis=0) for acts in first.activations]
                    if calls else None)
    tiled = Run(probe, guided_probe, [ops.repeat(x, top_k, axis=0) for x in inputs],
                input_index, ops.reshape(ops.cast(best, "int32"), (-1,)), None, replacements,
                options)
    result = method.compute(tiled)

    def unfold(tensor):
        return ops.reshape(tensor, (-1, top_k, *tensor.shape[1:]))

    return {"raw": keras.tree.map_structure(unfold, result.raw),
            "maps": unfold(result.maps), "scores": unfold(result.scores),
            "targets": unfold(result.targets), "predictions": first.model_outputs[0],
            "activations": first.activations}
