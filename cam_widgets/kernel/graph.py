"""Re-trace a Keras model layer by layer.

Every Keras 3 model with a graph (Functional, or Sequential once built) is walked
node by node, re-calling the user's own layer objects on new tensors. Nested models
are walked recursively, so a layer at any depth can be read (captured), replaced
(overridden) or given another gradient (guided) on the way, while the weights stay the
user's and the model itself is never modified: running the walk on real tensors adds
no nodes, no attributes and no variables to it.

Keras 3 has no public API for a model's graph, so this module is the one place in the
package that reads private Keras names: the Functional class, `_functional` and
`_nodes_by_depth` (and a node's `arguments.fill_in`). Everything else it reads is public:
a graph's `inputs`, `outputs` and `output` (its output structure), a layer's
`call_signature_parameters`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import weakref
from dataclasses import dataclass
from typing import Any

import keras
from keras.src.models.functional import Functional  # private: no public graph API


@dataclass(frozen=True)
class LayerCall:
    """One call of a leaf layer met while walking a model.

    `ordinal` counts earlier calls with the same path (a shared sub-model called on two
    inputs has two calls per inner layer); `inputs_used` holds the indices of the model
    inputs this call depends on; `terminal` marks a call whose output is a model output.
    """

    path: str
    layer: keras.layers.Layer
    ordinal: int
    inputs_used: frozenset[int]
    output_shape: tuple[int | None, ...]
    terminal: bool


# A hook computes one leaf call: (call, node, args, kwargs) -> the call's outputs.
LeafHook = Callable[[LayerCall, Any, tuple, dict], Any]


def graph_of(model: keras.layers.Layer) -> Functional | None:
    """The Functional graph behind `model`, or None for a leaf layer.

    A Sequential keeps its graph in `_functional` once it knows its input shape.
    """
    if isinstance(model, keras.Sequential):
        graph = getattr(model, "_functional", None)
        if graph is None:
            raise ValueError(
                f"Sequential model {model.name!r} is not built yet, so its layers have "
                "no shapes to explain. Give it an `keras.Input(shape=...)` as first "
                "layer, or call it once on a batch of images."
            )
        return graph
    if isinstance(model, Functional):
        return model
    return None


def check_model(model: Any, image_shape: tuple | None = None) -> None:
    """A TypeError with a remedy that works when `model` is not a Keras 3 model with a
    layer graph (a Keras 2 `tf_keras` model, a subclassed Model, a bare layer)."""
    shape = tuple(image_shape) if image_shape else "(height, width, channels)"
    if not isinstance(model, keras.layers.Layer):
        kind = f"{type(model).__module__}.{type(model).__name__}"
        raise TypeError(
            f"`model` is a {kind}, not a Keras 3 model (keras {keras.__version__}). A "
            "Keras 2 (`tf_keras`) model moves to Keras 3 through an .h5 file: "
            "`old_model.save('model.h5')`, then `model = keras.models.load_model("
            "'model.h5')` (standard layers load as they are; custom ones need "
            "`custom_objects`)."
        )
    if graph_of(model) is None:
        raise TypeError(
            f"{type(model).__name__} {model.name!r} has no layer graph to re-trace (a "
            "subclassed Model or a bare layer: its call() is Python code). Wrap it in a "
            f"Functional model: `inputs = keras.Input({shape}); wrapped = "
            "keras.Model(inputs, model(inputs))`; the wrapped model works with the "
            "gradient methods ('saliency', 'smoothgrad'), where it is one opaque layer. "
            "For a CAM method, which reads a layer inside, build the network "
            "functionally from its layers (they keep their weights), e.g. `x = inputs; "
            "x = model.conv(x); ...; keras.Model(inputs, x)`."
        )


def _flat(structure: Any) -> list:
    return list(keras.tree.flatten(structure))


def _first_shape(outputs: Any) -> tuple[int | None, ...]:
    flat = _flat(outputs)
    return tuple(flat[0].shape) if flat else ()


class _Walk:
    """State of one walk: per-path call counters and the leaf hook."""

    def __init__(self, hook: LeafHook) -> None:
        self.hook = hook
        self.seen: dict[str, int] = {}

    def graph(
        self,
        graph: Functional,
        inputs: Sequence[Any],
        inputs_used: Sequence[frozenset[int]],
        prefix: str,
        terminal: bool,
    ) -> list:
        values: dict[int, Any] = {}
        used: dict[int, frozenset[int]] = {}
        for ref, value, deps in zip(graph.inputs, inputs, inputs_used):
            values[id(ref)] = value
            used[id(ref)] = deps
        terminal_ids = {id(ref) for ref in graph.outputs} if terminal else set()

        for depth in sorted(graph._nodes_by_depth, reverse=True):
            for node in graph._nodes_by_depth[depth]:
                if node.operation is None or node.is_input:
                    continue
                if any(id(ref) not in values for ref in node.input_tensors):
                    continue  # not reachable from these inputs
                args, kwargs = node.arguments.fill_in(values)
                deps = frozenset().union(*(used[id(ref)] for ref in node.input_tensors))
                is_terminal = any(id(ref) in terminal_ids for ref in node.outputs)
                outputs = self.node(node, args, kwargs, deps, prefix, is_terminal)
                for ref, value in zip(node.outputs, _flat(outputs)):
                    values[id(ref)] = value
                    used[id(ref)] = deps
        return [values[id(ref)] for ref in graph.outputs]

    def node(self, node, args, kwargs, deps, prefix, terminal):
        layer = node.operation
        path = prefix + layer.name
        inner = graph_of(layer)
        if inner is not None:
            given = _flat(args[0] if args else next(iter(kwargs.values())))
            outputs = self.graph(inner, given, [deps] * len(given), path + "/", terminal)
            return keras.tree.pack_sequence_as(inner.output, outputs)
        ordinal = self.seen.get(path, 0)
        self.seen[path] = ordinal + 1
        call = LayerCall(path, layer, ordinal, deps, _first_shape(node.outputs), terminal)
        return self.hook(call, node, args, kwargs)


def walk(model: keras.Model, inputs: Sequence[Any], hook: LeafHook) -> list:
    """Run `model` on `inputs` (one value per model input), leaf calls through `hook`.

    Returns the model's outputs as a flat list.
    """
    check_model(model)
    graph = graph_of(model)
    deps = [frozenset({index}) for index in range(len(inputs))]
    return _Walk(hook).graph(graph, list(inputs), deps, "", terminal=True)


# model -> (weak reference to the graph the calls were read from, the calls)
_CALLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def leaf_calls(model: keras.Model) -> tuple[LayerCall, ...]:
    """Every leaf layer call of `model` in execution order, without running anything.

    Cached per model; a Sequential that gets a new graph (after `add`) is read again.
    """
    check_model(model)
    graph = graph_of(model)
    cached = _CALLS.get(model)
    if cached is not None and cached[0]() is graph:
        return cached[1]
    calls = _read_calls(model)
    _CALLS[model] = (weakref.ref(graph), calls)
    return calls


def _read_calls(model: keras.Model) -> tuple[LayerCall, ...]:
    calls: list[LayerCall] = []

    def record(call: LayerCall, node, args, kwargs):
        calls.append(call)
        return node.outputs

    walk(model, list(graph_of(model).inputs), record)
    return tuple(calls)


def call_layer(layer: keras.layers.Layer, args: tuple, kwargs: dict) -> Any:
    """Call a user layer in inference mode (BatchNorm statistics, no dropout)."""
    if "training" in getattr(layer, "call_signature_parameters", ()):
        kwargs = {**kwargs, "training": False}
    return layer(*args, **kwargs)
