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
from keras import ops

from cam_widgets.kernel import backends
from cam_widgets.kernel.probe import Probe, ProbeOutput
from cam_widgets.kernel.targets import PREDICTED, callable_scores, gather_scores


@dataclass
class Attribution:
    """What a method returns for one batch (backend tensors, inside the compiled function).

    Shape rule: a pixel method gives `raw` (B, H, W, C) and `maps` (B, H, W); a layer
    method (`uses_layer`) gives `raw` as a list with one (B, h_l, w_l) map per read layer,
    `maps` (B, L, H, W) and the read layers' outputs as `activations` (a list of L);
    `Run.layer_result` builds exactly that from the layer maps. `explain` drops the layer
    axis when one layer was asked for and adds a class axis for `top_k`.
    """

    raw: Any
    maps: Any
    scores: Any  # (B,) float32, the differentiated (or forward) score
    targets: Any  # (B,) int32, the class explained (PREDICTED for a callable target)
    predictions: Any  # the model's first output
    activations: list | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields by name: what a compiled function returns (a tree of tensors)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__
                if getattr(self, name) is not None}


@dataclass
class Run:
    """The tensors and probes of one explanation, inside the compiled function."""

    probe: Probe  # vanilla gradients
    guided_probe: Probe | None  # guided ReLUs, when guided gradients are asked for
    inputs: list
    input_index: int
    indices: Any  # (B,) class index per image, PREDICTED for the model's choice
    target_fn: Callable[[Any], Any] | None
    replacements: list | None = None  # the read layers' outputs, given
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def explained(self):
        return self.inputs[self.input_index]

    @property
    def image_size(self) -> tuple:
        """(H, W) of the explained input."""
        return tuple(ops.shape(self.explained)[1:3])

    def score(self, out: ProbeOutput, indices=None):
        """(scores (B,), class indices (B,)) of one probe run."""
        if self.target_fn is not None:
            given = out.scores_from if len(out.scores_from) > 1 else out.scores_from[0]
            scores = callable_scores(self.target_fn(given))
            return scores, ops.full(ops.shape(scores), PREDICTED, "int32")
        return gather_scores(out.scores_from[0], self.indices if indices is None else indices,
                             out.sigmoid_head, out.probabilities)

    def input_gradients(self, probe: Probe, inputs: list | None = None, indices=None):
        """Gradients of the score w.r.t. the explained input, with the run's outputs."""
        inputs = self.inputs if inputs is None else inputs
        index = self.input_index

        def scored(explained):
            out = probe([explained if i == index else x for i, x in enumerate(inputs)])
            scores, chosen = self.score(out, indices)
            return scores, (chosen, out)

        taken = backends.current().differentiate(scored, [inputs[index]])
        (grads,) = taken.gradients([0])
        chosen, out = taken.aux
        if grads is None:
            raise ValueError(
                f"The score does not depend on input {index}: its gradient is None. Check "
                "that the target uses the model output fed by this input, or choose "
                "another `input_index`."
            )
        return grads, taken.scores, chosen, out

    def result(self, raw, maps, scores, chosen, out: ProbeOutput) -> Attribution:
        """The attribution of a pixel method."""
        return Attribution(raw, maps, scores, chosen, out.model_outputs[0])

    def layer_display(self, cam):
        """A signed map at layer resolution (B, h, w) -> its display map (B, H, W): ReLU,
        bilinear upsample to the input, min-max per image."""
        return scale_min_max(upsample(ops.relu(cam), self.image_size))

    def layer_result(self, cams: list, scores, chosen, out: ProbeOutput) -> Attribution:
        """The attribution of a layer method from its signed maps at layer resolution:
        the display maps are ReLU -> bilinear upsample to the input -> min-max per image,
        stacked on a layer axis, with the layers' outputs."""
        maps = [self.layer_display(cam) for cam in cams]
        return Attribution(cams, ops.stack(maps, axis=1), scores, chosen,
                           out.model_outputs[0], activations=out.activations)


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

    def host_arrays(self, options: dict[str, Any], images: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays made on the host for a batch of `images` (B, ...), batch first, given to
        the compiled function and found in `run.options` by name: random draws that must
        be the same on every Keras backend. None by default."""
        return {}

    def check_model(self, model: Any, options: dict[str, Any]) -> None:
        """Refuse, before any work, a model this method cannot explain with these
        (checked) options: an error naming the layer and what would work. Nothing by
        default."""

    @abc.abstractmethod
    def compute(self, run: Run) -> Attribution:
        """The attribution tensors of one batch, inside the compiled function."""

    def __repr__(self) -> str:
        options = ", ".join(f"{option.name}={option.default!r}" for option in self.options)
        return f"<method {self.name!r} ({self.paper}){': ' + options if options else ''}>"


def upsample(maps, size: tuple):
    """(B, h, w) -> (B, H, W), bilinear (half-pixel centres, no antialiasing)."""
    return ops.image.resize(maps[..., None], size, interpolation="bilinear")[..., 0]


def divide_no_nan(numerator, denominator):
    """numerator / denominator, 0 where the denominator is 0."""
    safe = ops.where(denominator == 0, ops.ones_like(denominator), denominator)
    return ops.where(denominator == 0, ops.zeros_like(numerator), numerator / safe)


def scale_min_max(maps):
    """Maps stretched per image to [0, 1]; a constant map becomes 0, never NaN."""
    low = ops.min(maps, axis=(1, 2), keepdims=True)
    return divide_no_nan(maps - low, ops.max(maps, axis=(1, 2), keepdims=True) - low)


def scale_signed(maps):
    """Signed maps scaled per image to [0, 1] with zero at 0.5: v / (2 max|v|) + 0.5."""
    peak = ops.max(ops.abs(maps), axis=(1, 2), keepdims=True)
    return 0.5 + 0.5 * divide_no_nan(maps, peak)


def gradient_display(grads, guided: bool):
    """Input gradients (B, H, W, C) -> display maps (B, H, W) in [0, 1].

    Vanilla gradients show their magnitude, max |g| over channels (Simonyan et al.
    2014). Guided gradients keep their sign as in Springenberg et al.'s figures: the
    channel mean scaled so that zero is mid-scale (0.5) and the largest |value| reaches
    0 or 1.
    """
    if guided:
        return scale_signed(ops.mean(grads, axis=-1))
    return scale_min_max(ops.max(ops.abs(grads), axis=-1))
