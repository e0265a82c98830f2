"""A probe: the user's model re-traced for one explanation.

It runs the model's own layers and, on the way, reads one layer call's output (or puts
a given tensor in its place, so only the part of the model after it runs), gives ReLUs
guided gradients if asked, and stops a final softmax/sigmoid from squashing the score.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
from keras import ops

from cam_widgets.kernel.graph import LayerCall, call_layer, walk
from cam_widgets.kernel.guided import GateMode, guided_gate, guided_kind, leaks
from cam_widgets.kernel.activations import activation_name
from cam_widgets.kernel.sublayers import SubCalls, SubLayerCall
from cam_widgets.kernel.targets import pre_squash, squashes
from cam_widgets.kernel.tokens import TokenGrid


# Computes one leaf call in place of its layer: (call, args, kwargs, logits) -> outputs,
# where `logits` asks for the value before a final softmax/sigmoid (a terminal squash).
LeafRule = Callable[[LayerCall, tuple, dict, bool], Any]


@dataclass
class ProbeOutput:
    """What one probe run produced (backend tensors)."""

    activations: list  # the read layer calls' outputs, in the order asked
    scores_from: list  # model outputs, before a final squash if logits
    model_outputs: list  # the model's own outputs
    sigmoid_head: bool = False  # the first output comes from a final sigmoid: binary
    probabilities: bool = False  # ... and still ends in it (logits off)
    attention: list = field(default_factory=list)  # (B, heads, N, N) each


def read_shape(call: LayerCall, grid: TokenGrid | None) -> tuple:
    """The shape a read layer is given in: its output, or its patch grid."""
    if grid is None:
        return tuple(call.output_shape)
    return (call.output_shape[0], grid.height, grid.width, call.output_shape[-1])


class Probe:
    """Re-trace of `model` that reads the outputs of `layers` (LayerCalls).

    A token layer with a grid in `grids` is read as its (B, h, w, D) patch grid, and
    the model goes on with its tokens rebuilt from that grid (so gradients reach it); a
    given replacement then stands in for the patch tokens only. Calls inside custom
    layers (SubLayerCall) are read while their host runs.
    """

    def __init__(
        self, model: keras.Model, layers: Sequence[LayerCall] = (), *, guided: bool,
        logits: bool, grids: Sequence[TokenGrid | None] | None = None,
        attention: Sequence[LayerCall] = (), leaf: LeafRule | None = None,
    ) -> None:
        # A weak reference: compiled functions hold probes, and caches keyed weakly by
        # the model must not keep it alive.
        self._model = weakref.ref(model)
        self._slots = {(call.path, call.ordinal): slot for slot, call in enumerate(layers)}
        self._grids = list(grids) if grids is not None else [None] * len(layers)
        # host (path, ordinal) -> paths of the sub-layers read inside it
        self._hosts: dict[tuple[str, int], set[str]] = {}
        for call in (*layers, *attention):
            if isinstance(call, SubLayerCall):
                key = (call.host.path, call.host.ordinal)
                self._hosts.setdefault(key, set()).add(call.path)
        self._attention = {(call.path, call.ordinal) for call in attention}
        self._attention_layers = {id(call.layer) for call in attention
                                  if isinstance(call, SubLayerCall)}
        # the shape each read layer is given in (without the batch axis)
        self.read_shapes = [read_shape(call, grid)[1:] for call, grid in zip(layers, self._grids)]
        self.guided = guided
        self.gates = GateMode()  # `with probe.gates.vanilla():` for plain gradients
        self.logits = logits
        # computes leaf calls in place of the layers (LRP's rules); None: the layers run
        self.leaf = leaf

    def __call__(
        self, inputs: Sequence, replacements: Sequence | None = None,
        deltas: Sequence | None = None,
    ) -> ProbeOutput:
        """Run the model on `inputs`; `replacements` (one per read layer) stand in for
        those layers' outputs, so only what comes after them is computed. `deltas` (one
        per read layer, zeros of its read shape) are added to the read outputs: the
        gradient with respect to a delta is the gradient with respect to that output,
        on every backend."""
        model = self.model
        read: dict[int, Any] = {}
        model_outputs: dict[int, Any] = {}
        sigmoid_outputs: set[int] = set()  # final sigmoids kept
        sigmoid_logits: set[int] = set()  # final sigmoids taken off

        def read_output(slot: int, outputs, replacement=None):
            flat = keras.tree.flatten(outputs)
            if len(flat) != 1:  # (tensor, extras) as some blocks return: read the first
                first = read_output(slot, flat[0], replacement)
                return keras.tree.pack_sequence_as(outputs, [first, *flat[1:]])
            outputs = flat[0]
            grid = self._grids[slot]
            # Read outputs are float32 even under mixed precision (the next layer casts
            # them back to its compute dtype), so maps and gradients are too.
            if grid is None:
                outputs = ops.cast(outputs if replacement is None else replacement, "float32")
                if deltas is not None:
                    outputs = outputs + deltas[slot]
                read[slot] = outputs
                return outputs
            patches = replacement if replacement is not None else grid.patches(outputs)
            patches = ops.cast(patches, "float32")
            if deltas is not None:
                patches = patches + deltas[slot]
            read[slot] = patches
            return grid.with_patches(outputs, ops.cast(patches, outputs.dtype))

        def read_sub(sub: SubLayerCall, outputs):
            slot = self._slots.get((sub.path, sub.ordinal))
            if slot is None:
                return outputs
            return read_output(slot, outputs,
                               None if replacements is None else replacements[slot])

        scores: list = []

        def with_scores(own_call, args, kwargs):
            if kwargs.get("return_attention_scores"):  # the caller wants them too
                result = own_call(*args, **kwargs)
                scores.append(result[1])
                return result
            outputs, attention = own_call(*args, **{**kwargs, "return_attention_scores": True})
            scores.append(attention)
            return outputs

        subs = (SubCalls(read_sub, {key: with_scores for key in self._attention_layers})
                if self._hosts else None)

        def run_leaf(call: LayerCall, node, args, kwargs):
            slot = self._slots.get((call.path, call.ordinal))
            inside = self._hosts.get((call.path, call.ordinal))
            skip = (slot is not None and replacements is not None
                    and self._grids[slot] is None and len(node.outputs) == 1)
            if skip:  # the replacement stands in; the layer need not run
                outputs = replacements[slot]
            elif inside is not None:
                outputs = subs.call_host(call, args, kwargs, only=inside)
            elif (call.path, call.ordinal) in self._attention:
                outputs = with_scores(
                    lambda *a, **k: call_layer(call.layer, a, k), args, kwargs)
            elif self.logits and call.terminal and squashes(call.layer):
                outputs = (pre_squash(call.layer, args) if self.leaf is None
                           else self.leaf(call, args, kwargs, True))
                model_outputs[id(outputs)] = call_layer(call.layer, args, kwargs)
                if activation_name(call.layer) == "sigmoid":
                    sigmoid_logits.add(id(outputs))
            else:
                outputs = (call_layer(call.layer, args, kwargs) if self.leaf is None
                           else self.leaf(call, args, kwargs, False))
                if call.terminal and activation_name(call.layer) == "sigmoid":
                    sigmoid_outputs.add(id(outputs))
            if self.guided and guided_kind(call.layer) == "guided":
                outputs = guided_gate(outputs, self.gates, check_output=leaks(call.layer))
            if slot is not None:
                outputs = read_output(slot, outputs, None if skip or replacements is None
                                      else replacements[slot])
            return outputs

        scores_from = walk(model, list(inputs), run_leaf)
        return ProbeOutput(
            [read[slot] for slot in sorted(read)],
            scores_from,
            [model_outputs.get(id(out), out) for out in scores_from],
            sigmoid_head=id(scores_from[0]) in sigmoid_outputs | sigmoid_logits,
            probabilities=id(scores_from[0]) in sigmoid_outputs,
            attention=scores,
        )

    def zero_deltas(self, inputs: Sequence) -> list:
        """Zeros to add to each read output (see `__call__`) for a run on `inputs`.

        A layer whose size follows the input's (a model built for any image size) is
        measured by a forward pass whose values are not used (compilers drop it)."""
        batch = ops.shape(inputs[0])[0]
        if all(None not in shape for shape in self.read_shapes):
            return [ops.zeros((batch, *shape), "float32") for shape in self.read_shapes]
        return [ops.zeros(ops.shape(acts), "float32") for acts in self(inputs).activations]

    @property
    def model(self) -> keras.Model:
        """The probed model (a RuntimeError if it no longer exists)."""
        model = self._model()
        if model is None:
            raise RuntimeError("The model of this probe no longer exists.")
        return model
