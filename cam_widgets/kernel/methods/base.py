"""What every method shares: the run context inside the compiled function, scoring,
and the display maps (upsampled to the input, scaled to [0, 1])."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf

from cam_widgets.kernel.probe import Probe, ProbeOutput
from cam_widgets.kernel.targets import PREDICTED, callable_scores, gather_scores

Attribution = dict[str, tf.Tensor]  # raw, maps, scores, targets, predictions[, activations]


@dataclass
class Run:
    """The tensors and probes of one explanation, inside the compiled function."""

    probe: Probe  # vanilla gradients
    guided_probe: Probe | None  # guided ReLUs, when guided gradients are asked for
    inputs: list[tf.Tensor]
    input_index: int
    indices: tf.Tensor  # (B,) class index per image, PREDICTED for the model's choice
    target_fn: Callable[[Any], tf.Tensor] | None
    replacements: list[tf.Tensor] | None = None  # the read layers' outputs, given
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def explained(self) -> tf.Tensor:
        return self.inputs[self.input_index]

    def score(self, out: ProbeOutput, indices: tf.Tensor | None = None):
        """(scores (B,), class indices (B,)) of one probe run."""
        if self.target_fn is not None:
            given = out.scores_from if len(out.scores_from) > 1 else out.scores_from[0]
            scores = callable_scores(self.target_fn(given))
            batch = tf.shape(self.explained)[0]
            return scores, tf.fill([batch], tf.constant(PREDICTED, tf.int64))
        return gather_scores(out.scores_from[0], self.indices if indices is None else indices,
                             out.sigmoid_head, out.probabilities)

    def input_gradients(self, probe: Probe, inputs: list[tf.Tensor] | None = None,
                        indices: tf.Tensor | None = None):
        """Gradients of the score w.r.t. the explained input, with the run's outputs."""
        inputs = self.inputs if inputs is None else inputs
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(inputs[self.input_index])
            out = probe(inputs)
            scores, chosen = self.score(out, indices)
        grads = tape.gradient(scores, inputs[self.input_index])
        if grads is None:
            raise ValueError(
                f"The score does not depend on input {self.input_index}: its gradient is "
                "None. Check that the target uses the model output fed by this input, "
                "or choose another `input_index`."
            )
        return grads, scores, chosen, out

    def result(self, raw, maps, scores, chosen, out: ProbeOutput) -> Attribution:
        return {"raw": raw, "maps": maps, "scores": scores, "targets": chosen,
                "predictions": out.model_outputs[0]}


def upsample(maps: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """(B, h, w) -> (B, H, W), bilinear."""
    return tf.image.resize(maps[..., None], size, method="bilinear")[..., 0]


def _per_image(reduce: Callable, maps: tf.Tensor) -> tf.Tensor:
    return reduce(maps, axis=[1, 2], keepdims=True)


def scale_min_max(maps: tf.Tensor) -> tf.Tensor:
    """Maps stretched per image to [0, 1]; a constant map becomes 0, never NaN."""
    low = _per_image(tf.reduce_min, maps)
    return tf.math.divide_no_nan(maps - low, _per_image(tf.reduce_max, maps) - low)


def gradient_display(grads: tf.Tensor, guided: bool) -> tf.Tensor:
    """Input gradients (B, H, W, C) -> display maps (B, H, W) in [0, 1].

    Vanilla gradients show their magnitude, max |g| over channels (Simonyan et al.
    2014). Guided gradients keep their sign as in Springenberg et al.'s figures: the
    channel mean stretched to [0, 1], so a zero gradient is mid-scale.
    """
    if guided:
        return scale_min_max(tf.reduce_mean(grads, axis=-1))
    return scale_min_max(tf.reduce_max(tf.abs(grads), axis=-1))
