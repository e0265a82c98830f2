"""The one seam between the kernel and Keras' backend.

Keras 3 runs on TensorFlow, JAX or PyTorch, fixed when Keras is imported. The kernel
computes with `keras.ops`; the few things that differ per backend live in one module
each behind the `Backend` interface: the gradient of a score with respect to given
tensors, an identity with a custom gradient (guided ReLU), a loop over chunks of copies,
compiling the explain function so that it reads the model's current variable values,
and the output shapes of one run on placeholders. Methods never ask which backend runs.
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import keras

SUPPORTED = ("tensorflow", "jax", "torch")
FREE_SIZE = 224  # the size given to a free image axis where a run needs a size

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

    def uncompiled(self, fn: Callable[..., Any]) -> Callable | None:
        """`fn` run without compiling, where one such call is much quicker than
        compiling it (TensorFlow: eagerly, no trace); None where it is not (JAX compiles
        every operation on its first eager use; torch never compiles)."""

    def output_shapes(self, fn: Callable[..., Any], signature: Sequence[tuple[tuple, str]]
                      ) -> Any:
        """Run `fn` once on placeholders (or zeros) of `signature` and give the shapes of
        what it returns (a tree of tuples, the batch axis None): the shapes a model's
        calls take, and the side effects of one run (which layers it calls). A free
        axis other than the batch is run at `FREE_SIZE` where placeholders cannot be
        free (JAX, torch)."""


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


def quick_first_call() -> bool:
    """Whether `explain(..., compiled=False)` skips compiling on this backend."""
    return current().uncompiled(lambda: None) is not None


__all__ = ["SUPPORTED", "Backend", "Differentiated", "current", "quick_first_call"]
