"""Which LRP rule kind each layer call of a model gets, and which BatchNorms fold into
the layer before them: read from the graph once, before any work, so that a layer
without a rule is refused by name before anything is compiled."""
from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import dataclass

import keras

from cam_widgets.kernel.activations import activation_name, is_op
from cam_widgets.kernel.graph import LayerCall, graph_of, walk
from cam_widgets.kernel.targets import squashes

L = keras.layers
# Layers with weights and a rule: their pre-activation is rebuilt from live weights.
WEIGHTED = (L.Dense, L.Conv1D, L.Conv2D, L.Conv3D, L.DepthwiseConv1D, L.DepthwiseConv2D)
DEPTHWISE = (L.DepthwiseConv1D, L.DepthwiseConv2D)
# Relevance passes on through the layer's own gradient, which for these linear or
# piecewise-linear layers is LRP-0: a sum splits relevance in proportion to its
# inputs, average pooling is linear, max pooling gives it all to the winner.
SELECTING = (L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D, L.Cropping1D, L.Cropping2D,
             L.Cropping3D, L.Reshape, L.Flatten, L.Permute)  # move values, no arithmetic
ELEMENTWISE = (L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
               L.GaussianDropout, L.GaussianNoise, L.Rescaling, L.Identity, L.InputLayer)
POOLING = (L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D,
           L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
           L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.GlobalMaxPooling1D,
           L.GlobalMaxPooling2D, L.GlobalMaxPooling3D)
MERGING = (L.Add, L.Concatenate)
PASSING = (*SELECTING, *ELEMENTWISE, *POOLING, *MERGING)
RELU_LIKE = ("relu", "relu6")
_OPS = ("Add", "Concatenate", "Reshape", "Cast")  # keras.ops nodes that pass relevance

SUPPORTED = (
    "Dense, Conv1D/2D/3D and DepthwiseConv1D/2D (activation linear, relu or relu6, or a "
    "final softmax/sigmoid), BatchNormalization on the channel axis, ReLU and "
    "Activation('relu'/'relu6'/'linear'), average and max pooling (also global), Add, "
    "Concatenate, Flatten, Reshape, Permute, ZeroPadding, Cropping, Dropout, Rescaling, "
    "and a final Softmax or Activation('softmax'/'sigmoid')"
)


@dataclass(frozen=True)
class LrpPlan:
    """The rule kind of each leaf call ((path, ordinal) -> "weighted", "batchnorm",
    "relu", "squash", "select", "elementwise" or "pass") and the weighted calls whose
    only consumer is a BatchNormalization folded into them."""

    kinds: dict
    folds: frozenset


def kind_of(call: LayerCall) -> str:
    """The rule kind of one call; a ValueError naming the layer and what is supported."""
    layer = call.layer
    name = activation_name(layer)
    if isinstance(layer, WEIGHTED):
        if name in ("linear", *RELU_LIKE) or (call.terminal and squashes(layer)):
            return "weighted"
        return _refuse(call, f"its activation {name!r} has no LRP rule")
    if isinstance(layer, L.BatchNormalization):
        axis = layer.axis if isinstance(layer.axis, int) else tuple(layer.axis)
        if axis in (-1, len(call.output_shape) - 1, (len(call.output_shape) - 1,)):
            return "batchnorm"
        return _refuse(call, "it normalises another axis than the channels (last)")
    if isinstance(layer, L.ReLU) or (isinstance(layer, L.Activation) and name in RELU_LIKE):
        return "relu"
    if isinstance(layer, (L.Softmax, L.Activation)) and squashes(layer):
        if call.terminal:
            return "squash"
        return _refuse(call, "a softmax/sigmoid inside the network has no LRP rule")
    if isinstance(layer, L.Activation) and name == "linear":
        return "elementwise"
    if isinstance(layer, SELECTING):
        return "select"
    if isinstance(layer, ELEMENTWISE):
        return "elementwise"
    if isinstance(layer, PASSING):
        return "pass"
    if is_op(layer):
        if name in RELU_LIKE:
            return "relu"
        if type(layer).__name__ in _OPS:
            return "pass"
    return _refuse(call, "this layer kind has no LRP rule")


def _refuse(call: LayerCall, why: str) -> str:
    raise ValueError(
        f"LRP cannot explain layer {call.path!r} ({type(call.layer).__name__}): {why}. "
        f"Layers with a rule: {SUPPORTED}. Use a gradient method ('saliency', "
        "'integrated_gradients') for this model."
    )


# model -> (weak reference to the graph the plan was read from, the plan)
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def lrp_plan(model: keras.Model) -> LrpPlan:
    """The plan of `model` (cached per model); a ValueError for the first layer call
    without a rule."""
    graph = graph_of(model)
    cached = _PLANS.get(model)
    if cached is not None and cached[0]() is graph:
        return cached[1]
    kinds: dict = {}
    calls: dict = {}
    producer: dict[int, tuple] = {}  # id(output) -> the call that made it
    consumers: Counter = Counter()  # id(value) -> how many calls read it
    first_input: dict[tuple, int] = {}

    def record(call: LayerCall, node, args, kwargs):
        key = (call.path, call.ordinal)
        kinds[key] = kind_of(call)
        calls[key] = call
        values = [value for value in keras.tree.flatten((args, kwargs)) if id(value) in producer]
        for value in {id(value): value for value in values}.values():
            consumers[id(value)] += 1
        if args and id(args[0]) in producer:
            first_input[key] = id(args[0])
        for output in node.outputs:
            producer[id(output)] = key
        return node.outputs

    walk(model, list(graph.inputs), record)
    folds = set()
    for key, kind in kinds.items():
        source = first_input.get(key)
        if kind != "batchnorm" or source is None or consumers[source] != 1:
            continue
        before = calls[producer[source]]
        if (kinds[producer[source]] == "weighted" and not before.terminal
                and activation_name(before.layer) == "linear"):
            folds.add(producer[source])
    plan = LrpPlan(kinds, frozenset(folds))
    _PLANS[model] = (weakref.ref(graph), plan)
    return plan
