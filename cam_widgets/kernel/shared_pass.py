"""Several methods' maps of one score from one forward and one backward pass.

The gradient-weighted CAMs (Grad-CAM, Grad-CAM++, LayerCAM, HiResCAM, XGrad-CAM) all read
the same two tensors: the layer's output A and the gradient of the score with respect to
it; they differ only in how they weight A. Vanilla saliency reads the gradient at the
input, which the same backward pass reaches on its way down. `explain_shared` computes
those tensors once and gives each method its own `ExplainResult`, equal to what
`explain(..., method=name)` gives. With `activations` (a previous result's, same image
and layer) only the part of the model after the layer runs: a class change in a grid of
CAMs costs that tail once, not once per method.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keras import ops

from cam_widgets.kernel.explain import explain
from cam_widgets.kernel.methods import get_method
from cam_widgets.kernel.methods.base import Attribution, Method, Run, gradient_display
from cam_widgets.kernel.methods.cam import CamMethod, layer_pass, missing_gradient
from cam_widgets.kernel.result import ExplainResult

__all__ = ["explain_shared", "shares_a_pass"]

_PIXEL_MEMBERS = ("saliency",)  # read the input gradient of the shared backward pass


def shares_a_pass(method: str) -> bool:
    """True for the methods `explain_shared` computes together: the gradient-weighted
    CAMs (without guided gradients) and vanilla saliency."""
    if method in _PIXEL_MEMBERS:
        return True
    found = get_method(method)
    return isinstance(found, CamMethod) and not found.forces_guided


class SharedPass(Method):
    """Not registered: the members' maps ride on one extra axis of one attribution,
    (B, M, 1, H, W) maps and raw [[per member]], which `explain` reads as one layer."""

    paper = "see each member"
    caption = "several maps of one score"
    uses_layer = True
    guided_variant = False

    def __init__(self, members: Sequence[Method]) -> None:
        self.members = tuple(members)
        self.name = "shared:" + "+".join(member.name for member in self.members)
        self._pixels = any(not member.uses_layer for member in self.members)

    def compute(self, run: Run) -> Attribution:
        first = 1 if self._pixels else 0
        taken = layer_pass(run, run.probe, self._pixels)
        chosen, out = taken.aux
        grads = taken.gradients(range(first + len(out.activations)))
        if grads[first] is None:
            raise missing_gradient()
        (activations,), layer_grads = out.activations, grads[first]
        raw, maps = [], []
        for member in self.members:
            if member.uses_layer:
                cam = ops.sum(member.weights(activations, layer_grads) * activations, axis=-1)
                raw.append(cam)
                maps.append(run.layer_display(cam))
            else:
                raw.append(grads[0])
                maps.append(gradient_display(grads[0], guided=False))
        return Attribution([raw], ops.stack(maps, axis=1)[:, :, None], taken.scores, chosen,
                           out.model_outputs[0], activations=out.activations)


def explain_shared(model: Any, images: Any, methods: Sequence[str], *, layer: Any = None,
                   target: Any = None, activations: Any = None, input_index: int = 0,
                   logits: bool = True, compiled: bool = True,
                   batch_size: int = 32) -> dict[str, ExplainResult]:
    """{method: ExplainResult} for `methods` (each `shares_a_pass`), from one forward and
    one backward pass: the same results as `explain(model, images, method=m, ...)` for
    each, at the price of one. `layer` is one layer (the CAMs'); `activations` (that
    layer's output for these images, e.g. a previous result's `.activations`) runs only
    the part after it, and then every method must be a CAM (saliency needs the input).
    The other arguments are `explain`'s."""
    names = list(dict.fromkeys(methods))
    apart = [name for name in names if not shares_a_pass(name)]
    if apart or not names:
        raise ValueError(
            f"explain_shared computes gradient-weighted CAMs and 'saliency' together; "
            f"{apart or 'no method'} given. Use explain(...) for the others.")
    if isinstance(layer, (list, tuple)) or layer == "all":
        raise ValueError("explain_shared reads one layer; for several layers use "
                         "explain(..., layer=[...]) per method.")
    members = [get_method(name) for name in names]
    if activations is not None and any(not m.uses_layer for m in members):
        raise ValueError("With `activations` only the part after the layer runs, so "
                         "'saliency' (the input gradient) cannot be computed; leave it out "
                         "or drop `activations`.")
    if not any(member.uses_layer for member in members):  # saliency alone
        return {names[0]: explain(model, images, method=names[0], target=target,
                                  input_index=input_index, logits=logits,
                                  compiled=compiled, batch_size=batch_size)}
    together = explain(model, images, method=SharedPass(members), layer=layer,
                       target=target, activations=activations, input_index=input_index,
                       logits=logits, compiled=compiled, batch_size=batch_size)
    return {member.name: _member_result(together, index, member)
            for index, member in enumerate(members)}


def _member_result(together: ExplainResult, index: int, member: Method) -> ExplainResult:
    """One member's part of the shared result, as `explain` would give it."""
    reads_layer = member.uses_layer
    return ExplainResult(
        maps=together.maps[:, index], raw=together.raw[index], targets=together.targets,
        scores=together.scores, layer=together.layer if reads_layer else None,
        method=member.name, signed=member.signed_map(False),
        predictions=together.predictions,
        activations=together.activations if reads_layer else None)
