"""Guided ReLU (Springenberg et al. 2015, "Striving for Simplicity: The All
Convolutional Net"), applied while re-tracing the model, never by editing it.

Backward through a guided ReLU passes a gradient only where the forward input was
positive and the incoming gradient is positive. The walk places a gate right after
every ReLU-like call: it passes the incoming gradient where that gradient is positive
and the call's output is positive; the layer's own ReLU derivative then zeroes what its
input (or a ReLU6 ceiling) blocks. Forward values are unchanged.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import keras
from keras import ops

from cam_widgets.kernel import backends
from cam_widgets.kernel.activations import activation_name, is_op

_GUIDED_ACTIVATIONS = ("relu", "relu6")
_OTHER_RECTIFIERS = (
    "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish", "softplus",
    "hard_silu", "hard_swish", "celu", "glu", "log_sigmoid", "sparse_plus",
)
_RECTIFIER_LAYERS = (keras.layers.LeakyReLU, keras.layers.PReLU, keras.layers.ELU)


@dataclass(frozen=True)
class GuidedCoverage:
    """Which layers got guided ReLUs, and which non-linearities stayed vanilla (why)."""

    guided: tuple[str, ...]
    vanilla: tuple[tuple[str, str], ...]

    @property
    def complete(self) -> bool:
        return not self.vanilla

    def summary(self, shown: int = 4) -> str:
        """One line per reason, naming the first `shown` layers it applies to."""
        by_reason: dict[str, list[str]] = {}
        for path, why in self.vanilla:
            by_reason.setdefault(why, []).append(path)
        lines = [f"{len(self.guided)} layers guided, {len(self.vanilla)} left vanilla"]
        for why, paths in by_reason.items():
            more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
            lines.append(f"  {len(paths)} x {why}: {', '.join(paths[:shown])}{more}")
        return "\n".join(lines)


def guided_kind(layer: keras.layers.Layer) -> str | None:
    """'guided' for a ReLU-like layer or `keras.ops.relu` node, a reason string for one
    left vanilla, else None."""
    if isinstance(layer, keras.layers.ReLU):
        return "guided"
    if isinstance(layer, _RECTIFIER_LAYERS):
        return f"{type(layer).__name__} is not a ReLU; its gradient is left as is"
    if isinstance(layer, keras.layers.Lambda):
        return "Lambda layer: any ReLU inside its function cannot be seen"
    name = activation_name(layer)
    if name in _GUIDED_ACTIVATIONS:
        return "guided"
    if name in _OTHER_RECTIFIERS:
        return f"activation {name!r} is not a ReLU; its gradient is left as is"
    if is_op(layer):
        return None
    if not type(layer).__module__.startswith("keras"):
        return f"custom layer {type(layer).__name__}: ReLUs inside its call() cannot be seen"
    return None


class GateMode:
    """Whether the gates of one probe guide gradients (True) or pass them as they are.

    A gradient function runs when the gradient is taken (`Differentiated.gradients`), so one forward pass can
    give vanilla gradients to a layer (mode off) and guided ones to the input (mode on):
    guided Grad-CAM needs both.
    """

    def __init__(self) -> None:
        self.guided = True

    @contextmanager
    def vanilla(self) -> Iterator[None]:
        self.guided = False
        try:
            yield
        finally:
            self.guided = True


def leaks(layer: keras.layers.Layer) -> bool:
    """True for a ReLU layer with a negative slope: its own derivative does not zero
    the negative side, so the gate must also check the output's sign."""
    return isinstance(layer, keras.layers.ReLU) and float(layer.negative_slope) != 0.0


def guided_gate(outputs, mode: GateMode, check_output: bool):
    """Identity forward; backward keeps positive gradients (where the output is positive,
    if `check_output`; otherwise the layer's own derivative already sees to that), or
    passes every gradient while `mode` is vanilla."""

    def backward(values, upstream):
        if not mode.guided:
            return upstream
        if not check_output:
            return ops.relu(upstream)
        keep = ops.logical_and(upstream > 0, values > 0)
        return ops.where(keep, upstream, ops.zeros_like(upstream))

    return backends.current().custom_gradient(outputs, backward)


def coverage(calls) -> GuidedCoverage:
    """The coverage report of a guided walk over `calls` (see `graph.leaf_calls`)."""
    guided: dict[str, None] = {}
    vanilla: dict[str, str] = {}
    for call in calls:
        kind = guided_kind(call.layer)
        if kind == "guided":
            guided[call.path] = None
        elif kind is not None:
            vanilla[call.path] = kind
    return GuidedCoverage(tuple(guided), tuple(vanilla.items()))
