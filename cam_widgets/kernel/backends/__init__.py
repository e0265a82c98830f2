"""The one seam between the kernel and Keras' backend.

Keras 3 runs on TensorFlow, JAX or PyTorch, fixed when Keras is imported. The kernel
computes with `keras.ops`; the few things that differ per backend live in one module
each behind the `Backend` interface: the gradient of a score with respect to given
tensors, an identity with a custom gradient (guided ReLU), a loop over chunks of copies,
compiling the explain function so that it reads the model's current variable values,
and tracing a model once without data. Methods never ask which backend runs.
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import keras

SUPPORTED = ("tensorflow", "jax", "torch")

Scored = Callable[..., tuple[Any, Any]]  # f(*primals) -> (scores (B,), aux)


class Differentiated(Protocol):
    """A forward pass whose score can be differentiated, more than once if asked."""

    scores: Any  # (B,) the scores of the forward pass
    aux: Any  # what the function returned beside them

    def gradients(self, which: Sequence[int]) -> list[Any]:
        """d sum(scores) / d primals[i] for i in `which` (None where it does not depend
        on it). Guided gates read their mode when this is called."""


class Backend(Protocol):
    """What the kernel needs from a Keras backend."""

    name: str

    def differentiate(self, fn: Scored, primals: Sequence[Any], *, again: bool = False
                      ) -> Differentiated:
        """Run `fn(*primals)` so that its scores can be differentiated with respect to
        `primals`; `again=True` allows `gradients` to be called more than once."""

    def custom_gradient(self, values: Any, backward: Callable[[Any, Any], Any]) -> Any:
        """`values` unchanged forward; backward gives `backward(values, upstream)`."""

    def chunked_sum(self, count: int, per_pass: Any, step: Callable[[Any, Any], Any],
                    initial: Any) -> Any:
        """initial + sum of step(first, size) over consecutive chunks of `count` copies,
        `per_pass` at a time (the last chunk may be smaller)."""

    def compile(self, fn: Callable[..., Any], variables: Callable[[], list],
                signature: Sequence[tuple[tuple, str]], jit_compile: bool) -> Callable:
        """`fn` compiled for arguments of `signature` ((shape with None batch, dtype)
        each); it reads the values of `variables()` at each call, never baked in."""

    def trace_once(self, fn: Callable[..., Any], signature: Sequence[tuple[tuple, str]]
                   ) -> None:
        """Run `fn` once on placeholders (or small zeros) of `signature`, for its side
        effects (recording which layers it calls); its results are dropped."""


@functools.cache
def _load(name: str) -> Backend:
    return importlib.import_module(f"cam_widgets.kernel.backends.{name}").BACKEND


def current() -> Backend:
    """The Backend of Keras' own backend (`keras.config.backend()`)."""
    name = keras.config.backend()
    if name not in SUPPORTED:
        raise RuntimeError(
            f"Keras runs on the {name!r} backend; cam_widgets explains models on "
            f"{', '.join(SUPPORTED[:-1])} or {SUPPORTED[-1]}, which can take gradients. Set "
            "KERAS_BACKEND to one of them before Keras is imported (e.g. "
            "`import os; os.environ['KERAS_BACKEND'] = 'jax'` in the first cell)."
        )
    return _load(name)


__all__ = ["SUPPORTED", "Backend", "Differentiated", "current"]
