"""The JAX backend: `jax.vjp`, `jax.custom_vjp` and `jax.jit` over the model's state.

A jitted function that calls Keras layers would close over the variables' values as
constants, so here the values are arguments: the function runs inside a
`keras.StatelessScope` that maps each variable to the value passed, and new weights
(`model.set_weights`) reach the next call with no new compilation.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import keras

from cam_widgets.kernel.probe import ProbeOutput

# A probe's output travels out of `jax.vjp` as the auxiliary result: its tensors must be
# pytree leaves JAX can see, its flags static.
jax.tree_util.register_dataclass(
    ProbeOutput, data_fields=["activations", "scores_from", "model_outputs", "attention"],
    meta_fields=["sigmoid_head", "probabilities"])


@dataclass
class _Pulled:
    scores: Any
    aux: Any
    pullback: Callable

    def gradients(self, which: Sequence[int]) -> list:
        grads = self.pullback(jnp.ones_like(self.scores))
        return [grads[i] for i in which]


class JaxBackend:
    name = "jax"

    def differentiate(self, fn, primals, *, again=False):
        primals = [jnp.asarray(p) for p in primals]
        scores, pullback, aux = jax.vjp(fn, *primals, has_aux=True)
        return _Pulled(scores, aux, pullback)

    def custom_gradient(self, values, backward):
        @jax.custom_vjp
        def identity(x):
            return x

        def forward(x):
            return x, x

        def back(x, upstream):
            return (backward(x, upstream),)

        identity.defvjp(forward, back)
        return identity(values)

    def chunked_sum(self, count, per_pass, step, initial):
        # Shapes are static under jit: whole chunks in a loop, then the rest.
        per_pass = int(per_pass)
        whole, rest = divmod(count, per_pass)
        total = initial
        if whole:
            total = jax.lax.fori_loop(
                0, whole, lambda index, acc: acc + step(index * per_pass, per_pass), total)
        if rest:
            total = total + step(whole * per_pass, rest)
        return total

    def compile(self, fn, variables, signature, jit_compile):
        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables(), values))):
                return fn(*args)

        compiled = jax.jit(stateless)

        def call(*args):
            return compiled([variable.value for variable in variables()], *args)

        return call

    def trace_once(self, fn, signature) -> None:
        shapes = [jax.ShapeDtypeStruct(tuple(1 if d is None else d for d in shape), dtype)
                  for shape, dtype in signature]
        jax.eval_shape(fn, *shapes)


BACKEND = JaxBackend()
