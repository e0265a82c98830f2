"""Layers inside custom layers (keras-hub blocks, user layers), addressed by path.

A custom layer is one whose class is not Keras' own: its `call` may run other layers
(keras-hub's `ViTEncoder` runs every transformer block), which the model's graph does
not show. They are found by walking the layer's attributes, and their outputs are
captured while the model is traced by wrapping those sub-layers' `call` for the
duration of one host call (`intercept`), restored in a `finally`.

The wrapper acts only in the thread that installed it: a plain call of the model from
another thread meanwhile runs the original `call` and is unaffected. Nothing else of
the model changes (weights, config, attributes, graph).
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import keras

from cam_widgets.kernel import backends
from cam_widgets.kernel.backends.shapes import PROBE_BATCH
from cam_widgets.kernel.graph import LayerCall, call_layer, graph_of, leaf_calls, walk

# An output hook: (sub-layer call, its output) -> the output the host goes on with.
OutputHook = Callable[["SubLayerCall", Any], Any]
# A call hook: (the layer's own call, args, kwargs) -> the output the host goes on with.
CallHook = Callable[[Callable[..., Any], tuple, dict], Any]


@dataclass(frozen=True)
class SubLayerCall(LayerCall):
    """A call of a layer made inside a custom layer's `call`; `host` is that call."""

    host: LayerCall | None = None


def is_custom(layer: Any) -> bool:
    """True for a layer whose class is not one of Keras' own (nor a model graph)."""
    return (isinstance(layer, keras.layers.Layer)
            and not type(layer).__module__.startswith("keras.")
            and graph_of(layer) is None)


def _children(layer: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    for value in vars(layer).values():
        if isinstance(value, keras.layers.Layer):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (item for item in value if isinstance(item, keras.layers.Layer))
        elif isinstance(value, dict):
            yield from (item for item in value.values() if isinstance(item, keras.layers.Layer))


def sublayer_paths(host: keras.layers.Layer, path: str) -> dict[int, tuple[str, keras.layers.Layer]]:
    """id(layer) -> (path, layer) for every layer reachable inside `host`, going into
    custom layers only (a Keras layer such as MultiHeadAttention is one unit)."""
    found: dict[int, tuple[str, keras.layers.Layer]] = {}
    taken: set[str] = set()

    def visit(layer: keras.layers.Layer, prefix: str) -> None:
        for child in _children(layer):
            if id(child) in found or child is host:
                continue
            child_path = f"{prefix}/{child.name}"
            suffix = 1
            while child_path in taken:  # two children with one name
                child_path = f"{prefix}/{child.name}_{suffix}"
                suffix += 1
            taken.add(child_path)
            found[id(child)] = (child_path, child)
            if is_custom(child):
                visit(child, child_path)

    visit(host, path)
    return found


# ---- interception -------------------------------------------------------------------

@dataclass
class _Installed:
    """One wrapped layer: what to restore, and how many interceptions use it."""

    layer: keras.layers.Layer
    own_call: Any  # an instance attribute `call` the layer had before, else None
    users: int = 1


_LOCK = threading.Lock()
_INSTALLED: dict[int, _Installed] = {}  # id(layer) -> its wrapper's record
_LOCAL = threading.local()


def _hooks() -> dict[int, CallHook]:
    if not hasattr(_LOCAL, "hooks"):
        _LOCAL.hooks = {}
    return _LOCAL.hooks


def _install(layer: keras.layers.Layer) -> None:
    with _LOCK:
        entry = _INSTALLED.get(id(layer))
        if entry is not None:
            entry.users += 1
            return
        own = vars(layer).get("call")
        original = layer.call

        def call(*args, **kwargs):
            hook = _hooks().get(id(layer))
            return original(*args, **kwargs) if hook is None else hook(original, args, kwargs)

        # object.__setattr__: Keras' attribute tracking has no business with this.
        object.__setattr__(layer, "call", call)
        _INSTALLED[id(layer)] = _Installed(layer, own)


def _uninstall(layer: keras.layers.Layer) -> None:
    with _LOCK:
        entry = _INSTALLED[id(layer)]
        entry.users -= 1
        if entry.users:
            return
        del _INSTALLED[id(layer)]
        if entry.own_call is not None:
            object.__setattr__(layer, "call", entry.own_call)
        else:
            object.__delattr__(layer, "call")


@contextmanager
def intercept(hooks: Mapping[keras.layers.Layer, CallHook]) -> Iterator[None]:
    """While active, in this thread only, each call of a layer in `hooks` runs
    `hook(own_call, args, kwargs)` instead of `own_call(*args, **kwargs)`. Every
    wrapper is removed on exit, also when the body raises."""
    layers = list(hooks)
    installed: list[keras.layers.Layer] = []
    mine = _hooks()
    previous = {id(layer): mine.get(id(layer)) for layer in layers}
    try:
        for layer in layers:
            _install(layer)
            installed.append(layer)
            mine[id(layer)] = hooks[layer]
        yield
    finally:
        for layer in layers:
            if previous[id(layer)] is None:
                mine.pop(id(layer), None)
            else:
                mine[id(layer)] = previous[id(layer)]
        for layer in reversed(installed):
            _uninstall(layer)


class SubCalls:
    """Counts sub-layer calls during one walk and runs each through `on_output`;
    `around` (layer -> call hook) replaces how chosen sub-layers are called."""

    def __init__(self, on_output: OutputHook,
                 around: Mapping[int, CallHook] | None = None) -> None:
        self.on_output = on_output
        self.around = dict(around or {})
        self.seen: dict[str, int] = {}
        self._paths: dict[int, dict[int, tuple[str, keras.layers.Layer]]] = {}

    def call_host(self, call: LayerCall, args: tuple, kwargs: dict,
                  only: set[str] | None = None) -> Any:
        """Call host layer `call.layer`, its sub-layers (those in `only`, else all)
        intercepted."""
        found = self._paths.get(id(call.layer))
        if found is None:
            found = self._paths[id(call.layer)] = sublayer_paths(call.layer, call.path)

        def hook_for(path: str, layer: keras.layers.Layer) -> CallHook:
            around = self.around.get(id(layer))

            def hook(own_call, args, kwargs):
                outputs = (own_call(*args, **kwargs) if around is None
                           else around(own_call, args, kwargs))
                ordinal = self.seen.get(path, 0)
                self.seen[path] = ordinal + 1
                flat = keras.tree.flatten(outputs)
                shape = tuple(flat[0].shape) if flat else ()
                if shape and shape[0] == PROBE_BATCH:  # a JAX/torch shape run's batch
                    shape = (None, *shape[1:])  # free, as in a symbolic trace
                sub = SubLayerCall(path, layer, ordinal, call.inputs_used, shape, False, call)
                return self.on_output(sub, outputs)
            return hook

        hooks = {layer: hook_for(path, layer) for path, layer in found.values()
                 if only is None or path in only}
        with intercept(hooks):
            return call_layer(call.layer, args, kwargs)


# model -> (weak reference to its graph, every call with sub-layer calls in order)
_ALL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def all_calls(model: keras.Model) -> tuple[LayerCall, ...]:
    """`leaf_calls(model)` with the calls made inside custom layers inserted before
    their host's call (they finish before it), in the order they finish.

    Finding them traces the model once in a scratch graph (cached per model); a model
    with no custom layer costs nothing.
    """
    calls = leaf_calls(model)
    hosts = [call for call in calls if is_custom(call.layer) and sublayer_paths(call.layer, call.path)]
    if not hosts:
        return calls
    graph = graph_of(model)
    cached = _ALL.get(model)
    if cached is not None and cached[0]() is graph:
        return cached[1]
    inner: dict[tuple[str, int], list[SubLayerCall]] = {}

    def record(sub: SubLayerCall, outputs):
        inner.setdefault((sub.host.path, sub.host.ordinal), []).append(sub)
        return outputs

    subs = SubCalls(record)
    host_keys = {(call.path, call.ordinal) for call in hosts}

    def run_leaf(call: LayerCall, node, args, kwargs):
        if (call.path, call.ordinal) in host_keys:
            return subs.call_host(call, args, kwargs)
        return call_layer(call.layer, args, kwargs)

    backends.current().output_shapes(lambda *inputs: walk(model, list(inputs), run_leaf),
                                     [(tuple(ref.shape), ref.dtype) for ref in model.inputs])
    ordered: list[LayerCall] = []
    for call in calls:
        ordered.extend(inner.get((call.path, call.ordinal), []))
        ordered.append(call)
    result = tuple(ordered)
    _ALL[model] = (weakref.ref(graph), result)
    return result
