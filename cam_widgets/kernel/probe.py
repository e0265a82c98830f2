"""A probe: the user's model re-traced for one explanation.

It runs the model's own layers and, on the way, reads one layer call's output (or puts
a given tensor in its place, so only the part of the model after it runs), gives ReLUs
guided gradients if asked, and stops a final softmax/sigmoid from squashing the score.
"""
from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import tensorflow as tf

from cam_widgets.kernel.graph import LayerCall, call_layer, walk
from cam_widgets.kernel.guided import guided_gate, guided_kind
from cam_widgets.kernel.targets import pre_squash, squashes


@dataclass
class ProbeOutput:
    """What one probe run produced (graph tensors)."""

    activation: tf.Tensor | None  # the read layer call's output
    scores_from: list[tf.Tensor]  # model outputs, before a final squash if logits
    model_outputs: list[tf.Tensor]  # the model's own outputs


class Probe:
    """Re-trace of `model` that reads `layer` (a LayerCall or None)."""

    def __init__(
        self, model: keras.Model, layer: LayerCall | None, *, guided: bool, logits: bool
    ) -> None:
        # A weak reference: compiled functions hold probes, and caches keyed weakly by
        # the model must not keep it alive.
        self._model = weakref.ref(model)
        self._key = None if layer is None else (layer.path, layer.ordinal)
        self.guided = guided
        self.logits = logits

    def __call__(
        self, inputs: Sequence[tf.Tensor], replacement: tf.Tensor | None = None
    ) -> ProbeOutput:
        model = self._model()
        if model is None:
            raise RuntimeError("The model of this probe no longer exists.")
        read: list[tf.Tensor] = []
        model_outputs: dict[int, tf.Tensor] = {}

        def run_leaf(call: LayerCall, node, args, kwargs):
            is_read = (call.path, call.ordinal) == self._key
            if is_read and replacement is not None:
                outputs = replacement
            elif self.logits and call.terminal and squashes(call.layer):
                outputs = pre_squash(call.layer, args)
                model_outputs[id(outputs)] = call_layer(call.layer, args, kwargs)
            else:
                outputs = call_layer(call.layer, args, kwargs)
            if self.guided and guided_kind(call.layer) == "guided":
                outputs = guided_gate(outputs)
            if is_read:
                read.append(outputs)
            return outputs

        scores_from = walk(model, list(inputs), run_leaf)
        return ProbeOutput(
            read[0] if read else None,
            scores_from,
            [model_outputs.get(id(out), out) for out in scores_from],
        )
