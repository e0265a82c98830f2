"""A probe: the user's model re-traced for one explanation.

It runs the model's own layers and, on the way, reads one layer call's output (or puts
a given tensor in its place, so only the part of the model after it runs), gives ReLUs
guided gradients if asked, and stops a final softmax/sigmoid from squashing the score.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import tensorflow as tf

from cam_widgets.kernel.graph import LayerCall, call_layer, walk
from cam_widgets.kernel.guided import GateMode, guided_gate, guided_kind, leaks
from cam_widgets.kernel.activations import activation_name
from cam_widgets.kernel.targets import pre_squash, squashes


@dataclass
class ProbeOutput:
    """What one probe run produced (graph tensors)."""

    activations: list[tf.Tensor]  # the read layer calls' outputs, in the order asked
    scores_from: list[tf.Tensor]  # model outputs, before a final squash if logits
    model_outputs: list[tf.Tensor]  # the model's own outputs
    sigmoid_head: bool = False  # the first output comes from a final sigmoid: binary
    probabilities: bool = False  # ... and still ends in it (logits off)


class Probe:
    """Re-trace of `model` that reads the outputs of `layers` (LayerCalls)."""

    def __init__(
        self, model: keras.Model, layers: Sequence[LayerCall] = (), *, guided: bool,
        logits: bool,
    ) -> None:
        # A weak reference: compiled functions hold probes, and caches keyed weakly by
        # the model must not keep it alive.
        self._model = weakref.ref(model)
        self._slots = {(call.path, call.ordinal): slot for slot, call in enumerate(layers)}
        self.guided = guided
        self.gates = GateMode()  # `with probe.gates.vanilla():` for plain gradients
        self.logits = logits

    def __call__(
        self, inputs: Sequence[tf.Tensor], replacements: Sequence[tf.Tensor] | None = None,
        watch: Callable[[tf.Tensor], None] | None = None,
    ) -> ProbeOutput:
        """Run the model on `inputs`; `replacements` (one per read layer) stand in for
        those layers' outputs, so only what comes after them is computed. `watch` (a
        tape's) is called on each read output as soon as it exists."""
        model = self._model()
        if model is None:
            raise RuntimeError("The model of this probe no longer exists.")
        read: dict[int, tf.Tensor] = {}
        model_outputs: dict[int, tf.Tensor] = {}
        sigmoid_outputs: set[int] = set()  # final sigmoids kept
        sigmoid_logits: set[int] = set()  # final sigmoids taken off

        def run_leaf(call: LayerCall, node, args, kwargs):
            slot = self._slots.get((call.path, call.ordinal))
            if slot is not None and replacements is not None:
                outputs = replacements[slot]
            elif self.logits and call.terminal and squashes(call.layer):
                outputs = pre_squash(call.layer, args)
                model_outputs[id(outputs)] = call_layer(call.layer, args, kwargs)
                if activation_name(call.layer) == "sigmoid":
                    sigmoid_logits.add(id(outputs))
            else:
                outputs = call_layer(call.layer, args, kwargs)
                if call.terminal and activation_name(call.layer) == "sigmoid":
                    sigmoid_outputs.add(id(outputs))
            if self.guided and guided_kind(call.layer) == "guided":
                outputs = guided_gate(outputs, self.gates, check_output=leaks(call.layer))
            if slot is not None:
                # Read outputs are float32 even under mixed precision (the next layer
                # casts them back to its compute dtype), so maps and gradients are too.
                outputs = tf.cast(outputs, tf.float32)
                if watch is not None:
                    watch(outputs)
                read[slot] = outputs
            return outputs

        scores_from = walk(model, list(inputs), run_leaf)
        return ProbeOutput(
            [read[slot] for slot in sorted(read)],
            scores_from,
            [model_outputs.get(id(out), out) for out in scores_from],
            sigmoid_head=id(scores_from[0]) in sigmoid_outputs | sigmoid_logits,
            probabilities=id(scores_from[0]) in sigmoid_outputs,
        )
