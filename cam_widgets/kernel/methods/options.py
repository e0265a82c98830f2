"""Options that take either a named choice or a value: a baseline that is "black" or an
image array, a fill that is "mean" or a number, a window that is an int or (h, w)."""
from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from cam_widgets.kernel.methods.base import Option


@dataclass(frozen=True)
class ChoiceOrValue(Option):
    """A string among `choices`, or a value of `kind` (numbers within `low`/`high`;
    NumPy arrays are returned as float32 arrays, which `explain` passes to the compiled
    function as tensors rather than baking them into it)."""

    def allowed(self) -> str:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        words = [_kind_words(kind) for kind in kinds]
        bounds = ""
        if self.low is not None and self.high is not None:
            bounds = f" in [{self.low}, {self.high}]"
        elif self.low is not None:
            bounds = f" >= {self.low}"
        text = "one of " + ", ".join(map(repr, self.choices or ())) + " or " + " or ".join(words)
        return text + bounds + (" or None" if self.none_ok else "")

    def check(self, value: Any, method: str) -> Any:
        if value is None and self.none_ok:
            return None
        if isinstance(value, str):
            if value in (self.choices or ()):
                return value
            close = difflib.get_close_matches(value, list(self.choices or ()), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Option {self.name!r} of {method!r} must be {self.allowed()}; "
                             f"got {value!r}.{hint}")
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if np.ndarray in kinds and isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf" or not np.isfinite(value).all():
                raise ValueError(f"Option {self.name!r} of {method!r} must be {self.allowed()}; "
                                 f"got an array of {value.dtype} with non-finite or "
                                 "non-numeric values.")
            return value.astype(np.float32)
        number_kinds = tuple(kind for kind in kinds if kind is not np.ndarray)
        if number_kinds:
            plain = Option(self.name, self.default, number_kinds, self.doc, self.low, self.high)
            try:
                return plain.check(value, method)
            except TypeError:
                pass
        raise TypeError(f"Option {self.name!r} of {method!r} must be {self.allowed()}; got "
                        f"{value!r} ({type(value).__name__}).")


def _kind_words(kind: type) -> str:
    return "an array" if kind is np.ndarray else kind.__name__


@dataclass(frozen=True)
class Size2D(Option):
    """A positive int, or a pair (height, width) of them; returned as given."""

    def allowed(self) -> str:
        high = f" <= {self.high}" if self.high is not None else ""
        return f"int >= {self.low}{high} or a pair (height, width) of them"

    def check(self, value: Any, method: str) -> Any:
        if value is None and self.none_ok:
            return None
        parts = value if isinstance(value, (tuple, list)) else (value,)
        ok = len(parts) in ((1,) if not isinstance(value, (tuple, list)) else (2,)) and all(
            isinstance(part, numbers.Integral) and not isinstance(part, (bool, np.bool_))
            for part in parts)
        if not ok:
            raise TypeError(f"Option {self.name!r} of {method!r} must be {self.allowed()}; got "
                            f"{value!r} ({type(value).__name__}).")
        if any((self.low is not None and part < self.low)
               or (self.high is not None and part > self.high) for part in parts):
            raise ValueError(f"Option {self.name!r} of {method!r} must be {self.allowed()}; "
                             f"got {value!r}.")
        return tuple(int(part) for part in value) if isinstance(value, (tuple, list)) \
            else int(value)


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """(h, w) from an int or a pair."""
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))
