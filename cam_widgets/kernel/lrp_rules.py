"""LRP's rules as a leaf hook of the probe: "gradient times a stopped ratio".

For a layer with output y (pre-activation) and a rule that builds a modified output
z'(x) from modified inputs and weights, the hook returns
    y  +  z'(x) * stop(y / stab(z'))  -  stop(z'(x) * y / stab(z')),
whose value is y (the forward pass is unchanged) and whose gradient is the rule's: if
the gradient at y times y is the relevance R of y, the gradient at x times x is
x * d z'/dx * R / stab(z'), the rule's relevance of x (Montavon et al. 2019, sec. 10.2.2).
ReLU-like activations pass relevance on unchanged (gradient a/x), as zennit's Pass
rule; so does a ReLU6 (a unit above its ceiling keeps its relevance). Other layers pass
relevance through their own gradient (LRP-0). The user's model is never modified.

Rules that redistribute without the activations (flat, wsquare, box) can only be
written as gradient x input at the image: they are applied where the image (through
padding, reshaping or elementwise layers only) enters a weighted layer, through a
second input `delta` (zeros) whose gradient is the relevance itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
from keras import ops

from cam_widgets.kernel.graph import LayerCall, call_layer
from cam_widgets.kernel.activations import activation_name
from cam_widgets.kernel.lrp_plan import DEPTHWISE, RELU_LIKE, LrpPlan

STABILIZER = 1e-6  # zennit's default for every rule but epsilon
INPUT_RULES = ("flat", "wsquare", "box")  # need no activations: the image's layer only
COMPOSITES = {  # (first layer, convolutions, dense layers), as zennit names them
    "epsilon_plus": (None, "zplus", "epsilon"),
    "epsilon_plus_flat": ("flat", "zplus", "epsilon"),
    "epsilon_gamma_box": ("box", "gamma", "epsilon"),
    "epsilon_alpha2_beta1": (None, "alpha_beta", "epsilon"),
}


@dataclass(frozen=True)
class Settings:
    """The rule choice and parameters of one LRP run."""

    rule: str = "epsilon"
    composite: str | None = None
    epsilon: float = 1e-6
    gamma: float = 0.25
    alpha: float = 2.0
    beta: float = 1.0
    low: float | None = None
    high: float | None = None

    def rule_for(self, layer: keras.layers.Layer, first: bool) -> str:
        """The rule of a weighted layer (`first`: fed by the image)."""
        if self.composite is None:
            return self.rule if first or self.rule not in INPUT_RULES else "epsilon"
        at_input, conv, dense = COMPOSITES[self.composite]
        if first and at_input is not None:
            return at_input
        return dense if isinstance(layer, keras.layers.Dense) else conv

    @property
    def alpha_beta(self) -> tuple[float, float]:
        return (2.0, 1.0) if self.composite == "epsilon_alpha2_beta1" else (self.alpha, self.beta)


def stabilise(z, epsilon: float):
    """z + epsilon * sign(z), with sign 1 at 0 (zennit's `stabilize`)."""
    return ops.where(z >= 0, z + epsilon, z - epsilon)


def _safe_ratio(y, z):
    zero = z == 0
    return ops.where(zero, ops.zeros_like(y), y / ops.where(zero, ops.ones_like(z), z))


def _ratio(y, z, epsilon: float):
    """y / stabilise(z, epsilon); 0 where z is 0 when epsilon is 0."""
    return y / stabilise(z, epsilon) if epsilon > 0 else _safe_ratio(y, z)


def plain_relu(layer) -> bool:
    """A ReLU whose own gradient (1 where x > 0) already passes relevance unchanged:
    no ceiling, no negative slope, threshold 0."""
    if isinstance(layer, keras.layers.ReLU):
        return (layer.max_value is None and float(layer.negative_slope) == 0.0
                and float(layer.threshold) == 0.0)
    return activation_name(layer) == "relu"


def _linear_op(layer: keras.layers.Layer):
    if isinstance(layer, keras.layers.Dense):
        return lambda x, w: ops.matmul(x, w)
    if isinstance(layer, DEPTHWISE):
        return lambda x, w: ops.depthwise_conv(
            x, w, strides=layer.strides, padding=layer.padding,
            data_format=layer.data_format, dilation_rate=layer.dilation_rate)
    return lambda x, w: layer.convolution_op(x, w)


def _weights(layer, dtype) -> tuple[Any, Any]:
    bias = getattr(layer, "bias", None)
    return (ops.cast(layer.kernel, dtype),
            None if bias is None else ops.cast(bias, dtype))


def fold(layer, kernel, bias, norm: keras.layers.BatchNormalization) -> tuple[Any, Any]:
    """Kernel and bias of `layer` followed by `norm` (inference statistics), as one."""
    dtype = kernel.dtype
    scale = ops.rsqrt(ops.cast(norm.moving_variance, dtype) + norm.epsilon)
    if norm.scale:
        scale = scale * ops.cast(norm.gamma, dtype)
    shift = -ops.cast(norm.moving_mean, dtype) * scale
    if norm.center:
        shift = shift + ops.cast(norm.beta, dtype)
    per_out = ops.reshape(scale, kernel.shape[-2:]) if isinstance(layer, DEPTHWISE) else scale
    return kernel * per_out, (shift if bias is None else bias * scale + shift)


def _groups(rule: str, x, w, b, y, s: Settings, nonneg: bool, low, high) -> list:
    """(scale, epsilon, bias, terms [(coefficient, input, weight)]) per denominator."""
    pos, neg = (x, None) if nonneg else (ops.relu(x), ops.minimum(x, 0.0))
    wp, wn = ops.relu(w), ops.minimum(w, 0.0)
    bp = None if b is None else ops.relu(b)
    bn = None if b is None else ops.minimum(b, 0.0)

    def signed(*pairs):
        return [(1.0, inp, wt) for inp, wt in pairs if inp is not None]

    if rule in ("zero", "epsilon"):
        return [(1.0, 0.0 if rule == "zero" else s.epsilon, b, signed((x, w)))]
    if rule == "zplus":
        return [(1.0, STABILIZER, bp, signed((pos, wp), (neg, wn)))]
    if rule == "alpha_beta":
        alpha, beta = s.alpha_beta
        return [(alpha, STABILIZER, bp, signed((pos, wp), (neg, wn))),
                (-beta, STABILIZER, bn, signed((pos, wn), (neg, wp)))]
    if rule == "gamma":
        up, down = w + s.gamma * wp, w + s.gamma * wn
        b_up = None if b is None else b + s.gamma * bp
        b_down = None if b is None else b + s.gamma * bn
        return [(ops.cast(y > 0, y.dtype), STABILIZER, b_up, signed((pos, up), (neg, down))),
                (ops.cast(y < 0, y.dtype), STABILIZER, b_down, signed((pos, down), (neg, up)))]
    if rule == "flat":
        return [(1.0, STABILIZER, None, signed((ops.ones_like(x), ops.ones_like(w))))]
    if rule == "wsquare":
        return [(1.0, STABILIZER, None, signed((ops.ones_like(x), w * w)))]
    if rule == "box":
        return [(1.0, STABILIZER, None,
                 [(1.0, x, w), (-1.0, low * ops.ones_like(x), wp),
                  (-1.0, high * ops.ones_like(x), wn)])]
    raise ValueError(f"Unknown LRP rule {rule!r}.")


def rule_output(y, groups: list, linear, delta=None):
    """y in value, the rule's gradient: at x, or (with `delta`, zeros in x's place) at
    delta, where it is the relevance of x itself."""
    total = None
    for scale, epsilon, bias, terms in groups:
        parts = [coefficient * linear(inp, weight) for coefficient, inp, weight in terms]
        z = sum(parts[1:], parts[0])
        if bias is not None:
            z = z + bias
        ratio = _ratio(y, z, epsilon)
        ratio = ops.stop_gradient(ratio if isinstance(scale, float) and scale == 1.0
                                  else scale * ratio)
        if delta is not None:
            moving = [coefficient * linear(ops.stop_gradient(inp) * delta, weight)
                      for coefficient, inp, weight in terms]
            parts = moving
        term = sum(parts[1:], parts[0]) * ratio
        total = term if total is None else total + term
    return ops.stop_gradient(y) + (total - ops.stop_gradient(total))


def pass_relu(x, activated):
    """`activated` in value; gradient activated/x, so relevance passes on unchanged."""
    ratio = ops.stop_gradient(_safe_ratio(activated, x))
    moving = x * ratio
    return ops.stop_gradient(activated) + (moving - ops.stop_gradient(moving))


class LrpTrace:
    """The probe's leaf hook for one LRP run (see the module docstring); `begin` before
    each probe call."""

    def __init__(self, plan: LrpPlan, settings: Settings) -> None:
        self.plan = plan
        self.settings = settings
        self._chain: dict[int, tuple] = {}  # id(value fed by the image) -> (value, delta)
        self._nonneg: dict[int, Any] = {}
        self._pending: dict[int, tuple] = {}  # id(output of a layer to fold) -> inputs

    def begin(self, image, delta) -> None:
        self._chain = {id(image): (image, delta)}
        self._nonneg, self._pending = {}, {}

    def __call__(self, call: LayerCall, args: tuple, kwargs: dict, logits: bool):
        kind = self.plan.kinds[(call.path, call.ordinal)]
        layer = call.layer
        if kind == "weighted":
            return self._weighted(call, args, kwargs, logits)
        if kind == "squash":
            if not logits:
                raise ValueError(_LOGITS)
            return args[0]
        outputs = call_layer(layer, args, kwargs)
        if kind == "batchnorm":
            pending = self._pending.get(id(args[0]))
            if pending is None:  # not after a weighted layer: its gradient (LRP-0)
                return outputs
            before, x, delta = pending
            kernel, bias = fold(before, *_weights(before, x.dtype), layer)
            return self._relevant(before, x, delta, kernel, bias, ops.cast(outputs, x.dtype))
        if kind == "relu":
            outputs = outputs if plain_relu(layer) else pass_relu(args[0], outputs)
            self._keep(self._nonneg, outputs, outputs)
            return outputs
        first = args[0] if args else None
        if kind in ("select", "elementwise") and id(first) in self._chain:
            delta = self._chain[id(first)][1]
            self._keep(self._chain, outputs,
                       (outputs, call_layer(layer, (delta,), {}) if kind == "select" else delta))
        flat = [value for value in keras.tree.flatten(args) if hasattr(value, "shape")]
        if kind in ("select", "pass") and flat and all(id(v) in self._nonneg for v in flat):
            self._keep(self._nonneg, outputs, outputs)
        return outputs

    @staticmethod
    def _keep(table: dict, value, entry) -> None:
        table[id(value)] = entry  # the entry holds the value: its id stays its own

    def _weighted(self, call: LayerCall, args, kwargs, logits: bool):
        layer, x = call.layer, args[0]
        delta = self._chain.get(id(x), (None, None))[1]
        if (call.path, call.ordinal) in self.plan.folds:  # the BatchNorm after it applies the rule
            outputs = call_layer(layer, args, kwargs)
            self._pending[id(outputs)] = (layer, x, delta)
            return outputs
        kernel, bias = _weights(layer, x.dtype)
        y = _linear_op(layer)(x, kernel)
        y = y if bias is None else y + bias
        z = self._relevant(layer, x, delta, kernel, bias, y)
        name = activation_name(layer)
        if name in RELU_LIKE:
            activated = ops.cast(layer.activation(z), z.dtype)
            z = activated if name == "relu" else pass_relu(z, activated)
            self._keep(self._nonneg, z, z)
        elif name != "linear" and not logits:  # a final softmax/sigmoid
            raise ValueError(_LOGITS)
        return z

    def _relevant(self, layer, x, delta, kernel, bias, y):
        s = self.settings
        first = delta is not None
        rule = s.rule_for(layer, first)
        if rule in ("zero", "epsilon") and not first:  # y is z'(x) itself: no second pass
            if rule == "zero":
                return y
            ratio = ops.stop_gradient(_ratio(y, y, s.epsilon))
            return ops.stop_gradient(y) + (y * ratio - ops.stop_gradient(y * ratio))
        low = high = None
        if rule == "box":
            axes = tuple(range(1, len(x.shape)))
            given = ops.stop_gradient(x)
            low = ops.min(given, axis=axes, keepdims=True) if s.low is None else s.low
            high = ops.max(given, axis=axes, keepdims=True) if s.high is None else s.high
        groups = _groups(rule, x, kernel, bias, y, s, id(x) in self._nonneg, low, high)
        return rule_output(y, groups, _linear_op(layer), delta if first else None)


_LOGITS = ("LRP starts its relevance at the class logit, before the final softmax or "
           "sigmoid: explain with `logits=True` (the default).")
