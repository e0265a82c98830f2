"""What every method shares: the method contract (name, paper, declared options), the
run context inside the compiled function, scoring, and the display maps (upsampled to
the input, scaled to [0, 1])."""
from __future__ import annotations

import abc
import difflib
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
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


@dataclass(frozen=True)
class Option:
    """One option a method declares: its default, its type and the values it allows.

    `kind` is a type or a tuple of types (an int is accepted where a float is asked);
    `low`/`high` bound numbers (inclusive), `choices` lists the allowed values of a
    string option, and `none_ok` lets None through (meaning "no limit" or "all").
    """

    name: str
    default: Any
    kind: type | tuple[type, ...]
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    none_ok: bool = False

    def allowed(self) -> str:
        """The allowed values in words, for error messages and the docs."""
        if self.choices is not None:
            text = "one of " + ", ".join(map(repr, self.choices))
        else:
            kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
            text = " or ".join(kind.__name__ for kind in kinds)
            if self.low is not None and self.high is not None:
                text += f" in [{self.low}, {self.high}]"
            elif self.low is not None:
                text += f" >= {self.low}"
            elif self.high is not None:
                text += f" <= {self.high}"
        return text + (" or None" if self.none_ok else "")

    def check(self, value: Any, method: str) -> Any:
        """`value` if it is allowed, else a TypeError/ValueError naming what is.

        NumPy scalars are accepted where Python numbers are, and returned as Python
        numbers (an int where a float is asked stays an int).
        """
        if value is None and self.none_ok:
            return None
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        if number and int in kinds and isinstance(value, numbers.Integral):
            value = int(value)
        elif number and float in kinds:
            value = int(value) if isinstance(value, numbers.Integral) else float(value)
        elif not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise TypeError(
                f"Option {self.name!r} of {method!r} must be {self.allowed()}; got "
                f"{value!r} ({type(value).__name__})."
            )
        if self.choices is not None and value not in self.choices:
            close = difflib.get_close_matches(str(value), map(str, self.choices), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Option {self.name!r} of {method!r} must be {self.allowed()}; got "
                f"{value!r}.{hint}"
            )
        if number and ((self.low is not None and value < self.low)
                       or (self.high is not None and value > self.high)):
            raise ValueError(
                f"Option {self.name!r} of {method!r} must be {self.allowed()}; got {value!r}."
            )
        return value


class Method(abc.ABC):
    """The contract of an attribution method.

    A method declares what it is (`name`, the `paper` it comes from), what it needs
    (`uses_layer`: a layer to read; `forces_guided`: guided ReLUs), what its map means
    (`signed`: a map with a meaningful sign; `class_specific`: False for maps that are
    the same for every class; `caption`: one line on what a bright pixel says) and the
    `options` it takes. `explain` checks options against the declaration before any
    work, and the viewer builds its option controls from it.
    """

    name: ClassVar[str]
    paper: ClassVar[str]
    caption: ClassVar[str]
    uses_layer: ClassVar[bool]
    signed: ClassVar[bool] = False
    forces_guided: ClassVar[bool] = False
    guided_variant: ClassVar[bool] = True  # False: `guided=True` is refused
    class_specific: ClassVar[bool] = True
    options: ClassVar[tuple[Option, ...]] = ()

    def option(self, name: str) -> Option:
        """The declared option called `name`."""
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(name)

    def check_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The options to run with: `given` checked against the declaration, with the
        defaults of those not given. Unknown names and bad values raise."""
        declared = {option.name: option for option in self.options}
        for name in given:
            if name not in declared:
                if not declared:
                    raise TypeError(f"Method {self.name!r} takes no options; got {name!r}.")
                close = difflib.get_close_matches(name, declared, n=2, cutoff=0.5)
                hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
                raise TypeError(
                    f"Method {self.name!r} has no option {name!r}.{hint} Its options: "
                    f"{', '.join(declared)}."
                )
        return {name: option.check(given[name], self.name) if name in given
                else option.default for name, option in declared.items()}

    def signed_map(self, guided: bool) -> bool:
        """Whether this method's map is signed when run with `guided` gradients (guided
        maps keep the sign of the input gradient)."""
        return self.signed or guided or self.forces_guided

    @abc.abstractmethod
    def compute(self, run: Run) -> Attribution:
        """The attribution tensors of one batch, inside the compiled function."""

    def __repr__(self) -> str:
        options = ", ".join(f"{option.name}={option.default!r}" for option in self.options)
        return f"<method {self.name!r} ({self.paper}){': ' + options if options else ''}>"


def upsample(maps: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """(B, h, w) -> (B, H, W), bilinear."""
    return tf.image.resize(maps[..., None], size, method="bilinear")[..., 0]


def _per_image(reduce: Callable, maps: tf.Tensor) -> tf.Tensor:
    return reduce(maps, axis=[1, 2], keepdims=True)


def scale_min_max(maps: tf.Tensor) -> tf.Tensor:
    """Maps stretched per image to [0, 1]; a constant map becomes 0, never NaN."""
    low = _per_image(tf.reduce_min, maps)
    return tf.math.divide_no_nan(maps - low, _per_image(tf.reduce_max, maps) - low)


def scale_signed(maps: tf.Tensor) -> tf.Tensor:
    """Signed maps scaled per image to [0, 1] with zero at 0.5: v / (2 max|v|) + 0.5."""
    peak = _per_image(tf.reduce_max, tf.abs(maps))
    return 0.5 + 0.5 * tf.math.divide_no_nan(maps, peak)


def gradient_display(grads: tf.Tensor, guided: bool) -> tf.Tensor:
    """Input gradients (B, H, W, C) -> display maps (B, H, W) in [0, 1].

    Vanilla gradients show their magnitude, max |g| over channels (Simonyan et al.
    2014). Guided gradients keep their sign as in Springenberg et al.'s figures: the
    channel mean scaled so that zero is mid-scale (0.5) and the largest |value| reaches
    0 or 1.
    """
    if guided:
        return scale_signed(tf.reduce_mean(grads, axis=-1))
    return scale_min_max(tf.reduce_max(tf.abs(grads), axis=-1))
