"""Which activation a layer or graph operation ends in: one test shared by guided ReLU
(what to guide) and the logits split (what to strip from the output)."""
from __future__ import annotations

import re

import keras


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def is_op(node_operation: object) -> bool:
    """True for a bare Keras operation in a Functional graph (`keras.ops.relu(x)`),
    which is not a Layer and has no weights."""
    return (not isinstance(node_operation, keras.layers.Layer)
            and type(node_operation).__module__.startswith("keras"))


def activation_name(operation: object) -> str:
    """The activation `operation` ends in, as Keras names it ('relu', 'softmax', ...).

    A layer's fused `activation` (Dense, Conv2D, Activation), the ReLU and Softmax layers,
    and a bare `keras.ops.relu` / `keras.ops.softmax` node are recognised; '' otherwise.
    """
    if isinstance(operation, keras.layers.ReLU):
        return "relu"
    if isinstance(operation, keras.layers.Softmax):
        return "softmax"
    function = getattr(operation, "activation", None)
    if function is not None:
        return getattr(function, "__name__", "")
    if is_op(operation):  # keras.ops.relu(x) -> an operation of class Relu
        return _snake(type(operation).__name__)
    return ""
