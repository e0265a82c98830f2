"""Layer paths: listing every layer at any depth and resolving what the user names."""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import keras

from cam_widgets.kernel import backends
from cam_widgets.kernel.graph import LayerCall
from cam_widgets.kernel.probe import Probe
from cam_widgets.kernel.sublayers import all_calls as leaf_calls
from cam_widgets.kernel.tokens import find_grid

LayerSpec = str | int | keras.layers.Layer | None


@dataclass(frozen=True)
class LayerInfo:
    """A layer as `list_layers` shows it; `spatial` is True for a 4-D (B, h, w, C) output
    and for a token layer (B, N, D) whose patch grid was found: `grid` is then (h, w)
    and `prefix_tokens` the tokens before the patches (class, register tokens)."""

    path: str
    class_name: str
    output_shape: tuple[int | None, ...]
    spatial: bool
    grid: tuple[int, int] | None = None
    prefix_tokens: int = 0


def _is_spatial(call: LayerCall) -> bool:
    return len(call.output_shape) == 4


def _collapsed(call: LayerCall) -> bool:
    """A spatial output of one position (after a keepdims global pooling)."""
    return tuple(call.output_shape[1:3]) == (1, 1)


def _branch_calls(model: keras.Model, path: str, input_index: int) -> list[LayerCall]:
    return [c for c in leaf_calls(model) if c.path == path and input_index in c.inputs_used]


def call_name(model: keras.Model, call: LayerCall, input_index: int = 0) -> str:
    """The name that resolves back to `call`: its path, with `:ordinal` when the path
    has several calls on input `input_index`'s branch (a backbone called twice)."""
    if len(_branch_calls(model, call.path, input_index)) > 1:
        return f"{call.path}:{call.ordinal}"
    return call.path


def _call_names(model: keras.Model) -> dict[tuple[str, int], str]:
    """(path, ordinal) -> the name of each call: its path, with `:ordinal` when the path
    has several calls on the branch of an input the call depends on (as `call_name`
    names it, so `res.layer` is one of these names)."""
    calls = leaf_calls(model)
    per_branch: dict[tuple[str, int], int] = {}
    for call in calls:
        for index in call.inputs_used:
            per_branch[call.path, index] = per_branch.get((call.path, index), 0) + 1
    return {(call.path, call.ordinal): (
        f"{call.path}:{call.ordinal}"
        if any(per_branch[call.path, index] > 1 for index in call.inputs_used) else call.path)
        for call in calls}


def _own_shapes(model: keras.Model, calls: list[LayerCall]) -> dict[tuple[str, int], tuple]:
    """(path, ordinal) -> output shape of each of `calls` traced on the model's input
    shapes. A nested model built for any input size records (None, None) for every
    call inside it; called twice at two sizes, each call has its own size."""
    probe = Probe(model, calls, guided=False, logits=True)
    shapes = backends.current().output_shapes(
        lambda *inputs: probe(list(inputs)).activations,
        [(tuple(ref.shape), ref.dtype) for ref in model.inputs])
    return {(call.path, call.ordinal): tuple(shape) for call, shape in zip(calls, shapes)}


def listed_calls(model: keras.Model) -> list[tuple[LayerInfo, LayerCall]]:
    """What `list_layers` lists, each with the layer call it describes."""
    names = _call_names(model)
    calls = leaf_calls(model)
    unsized = [call for call in calls if names[call.path, call.ordinal] != call.path
               and None in call.output_shape[1:-1]]
    shapes = _own_shapes(model, unsized) if unsized else {}
    listed: dict[str, tuple[LayerInfo, LayerCall]] = {}
    for index, call in enumerate(calls):
        name = names[call.path, call.ordinal]
        if name in listed:
            continue
        grid = find_grid(call, calls[:index], _image_shape(model, call))
        listed[name] = (LayerInfo(
            name, type(call.layer).__name__,
            shapes.get((call.path, call.ordinal), call.output_shape),
            _is_spatial(call) or grid is not None,
            grid.size if grid else None, grid.prefix if grid else 0,
        ), call)
    return list(listed.values())


def list_layers(model: keras.Model) -> list[LayerInfo]:
    """Every layer call of `model` with its path (`outer/inner/layer`), in execution order.

    Layers of nested models are listed under their model's name, layers inside custom
    layers under their host's path. A layer called several times on one input's branch
    (a backbone called on an image and on its flipped copy) is listed once per call, as
    `path:n` with that call's own output shape, the name `explain` gives it in
    `res.layer`; one called once per input (a siamese encoder) is listed once, by its
    path. Token layers are spatial with their patch grid (see `kernel.tokens`).
    """
    return [info for info, _ in listed_calls(model)]


def _image_shape(model: keras.Model, call: LayerCall) -> tuple[int | None, ...]:
    """The shape of the image input feeding `call` (() if none is an image)."""
    for index in sorted(call.inputs_used):
        shape = tuple(model.inputs[index].shape)
        if len(shape) == 4:
            return shape
    return ()


def _branch_call(calls: list[LayerCall], input_index: int) -> LayerCall:
    """Of the calls of one layer, the last on the branch of `input_index` (the one the
    default layer would pick)."""
    for call in reversed(calls):
        if input_index in call.inputs_used:
            return call
    raise ValueError(
        f"Layer {calls[0].path!r} does not depend on input {input_index} of the model, so "
        f"it cannot explain that input (it is fed by input(s) "
        f"{sorted(calls[0].inputs_used)}). Choose a layer on input {input_index}'s branch "
        "or another `input_index`."
    )


def _nth_call(calls: list[LayerCall], ordinal: int, input_index: int) -> LayerCall:
    """The call `path:ordinal`, which must be on the branch of `input_index`."""
    names = [f"{c.path}:{c.ordinal}" for c in calls if input_index in c.inputs_used]
    for call in calls:
        if call.ordinal == ordinal and input_index in call.inputs_used:
            return call
    raise ValueError(
        f"Layer {calls[0].path!r} has no call {ordinal} on input {input_index}'s branch; "
        f"its calls there are {', '.join(names) or 'none'}."
    )


def _unknown_path(name: str, paths: list[str]) -> ValueError:
    close = difflib.get_close_matches(name, paths, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return ValueError(
        f"No layer {name!r} in the model.{hint} Layers of nested models are named by "
        "path, e.g. 'vgg16/block5_conv3'; `list_layers(model)` lists them all."
    )


def resolve_layer(
    model: keras.Model, layer: LayerSpec, input_index: int = 0
) -> LayerCall:
    """The layer call that `layer` names, on the branch of model input `input_index`.

    None picks the last layer with a spatial output of more than one position (before
    a global pooling collapses space) on that input's own branch (before it merges with
    other inputs), else the last that depends on it. A string is a path (a bare name is
    accepted when exactly one path ends with it), with `:n` for the n-th call of a layer
    called several times (without it, the last call on the branch); an int an index
    into `list_layers(model)`, a Layer object that layer.
    """
    calls = [call for call in leaf_calls(model) if not isinstance(call.layer, keras.layers.InputLayer)]
    by_path: dict[str, list[LayerCall]] = {}
    for call in calls:
        by_path.setdefault(call.path, []).append(call)
    paths = list(by_path)

    if layer is None:
        # Prefer layers fed by this input alone: after two branches merge, a layer's
        # map no longer tells the inputs apart.
        spatial = [c for c in calls if _is_spatial(c) and c.inputs_used == {input_index}]
        spatial = spatial or [c for c in calls if _is_spatial(c) and input_index in c.inputs_used]
        # A 1x1 output after a keepdims global pooling (MobileNet's 1x1 conv head) gives
        # a constant map: the default is the last layer before space collapses.
        spatial = [c for c in spatial if not _collapsed(c)] or spatial
        if not spatial:
            raise ValueError(
                f"Model {model.name!r} has no layer with a spatial (batch, height, width, "
                f"channels) output on input {input_index}'s branch, so there is nothing "
                "for a CAM method to weight. Use a gradient method such as 'saliency'."
            )
        return spatial[-1]
    if isinstance(layer, bool) or not isinstance(layer, (str, int, keras.layers.Layer)):
        raise TypeError(
            f"`layer` must be None, a path string, an int index or a Layer; got "
            f"{type(layer).__name__}."
        )
    if isinstance(layer, int):
        names = list(dict.fromkeys(_call_names(model).values()))
        if not -len(names) <= layer < len(names):
            raise ValueError(
                f"Layer index {layer} is out of range: the model has {len(names)} layers "
                f"(valid indices {-len(names)}..{len(names) - 1})."
            )
        return resolve_layer(model, names[layer], input_index)
    if isinstance(layer, keras.layers.Layer):
        matches = [c for c in calls if c.layer is layer]
        if not matches:
            raise ValueError(
                f"Layer object {layer.name!r} is not part of model {model.name!r}. "
                "Pass a layer of this model or its path."
            )
        return _branch_call(matches, input_index)
    if layer in by_path:
        return _branch_call(by_path[layer], input_index)
    path, colon, ordinal = layer.rpartition(":")
    if colon and ordinal.isdigit() and path in by_path:
        return _nth_call(by_path[path], int(ordinal), input_index)
    suffix = [p for p in paths if p.endswith("/" + layer)]
    if len(suffix) == 1:
        return _branch_call(by_path[suffix[0]], input_index)
    raise _unknown_path(layer, paths)


def resolve_layers(
    model: keras.Model, layers: str | Sequence[LayerSpec], input_index: int = 0
) -> tuple[LayerCall, ...]:
    """Several layer calls at once: a list of specs, or "all" for every spatial layer on
    input `input_index`'s path (4-D layers and token layers on a patch grid; each call
    of a layer called several times), in execution order."""
    if isinstance(layers, str):
        if layers != "all":
            raise ValueError(f"layers={layers!r}: give a list of layers or 'all'.")
        calls = leaf_calls(model)
        image = tuple(model.inputs[input_index].shape)
        chosen = tuple(
            call for index, call in enumerate(calls)
            if input_index in call.inputs_used
            and not isinstance(call.layer, keras.layers.InputLayer)
            and (_is_spatial(call) or find_grid(call, calls[:index], image) is not None))
        if not chosen:
            resolve_layer(model, None, input_index)  # raises the no-spatial-layer error
        return chosen
    if not layers:
        raise ValueError("The list of layers is empty; name at least one layer.")
    return tuple(resolve_layer(model, item, input_index) for item in layers)
