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
from jax.experimental import io_callback
from jax.extend.core import Literal

from cam_widgets.kernel import cancel
from cam_widgets.kernel.backends.shapes import free_batch, sized

from cam_widgets.kernel.probe import ProbeOutput

# A probe's output travels out of `jax.vjp` as the auxiliary result: its tensors must be
# pytree leaves JAX can see, its flags static.
jax.tree_util.register_dataclass(
    ProbeOutput, data_fields=["activations", "scores_from", "model_outputs", "attention"],
    meta_fields=["sigmoid_head", "probabilities"])


_UNROLLED_CHUNKS = 2  # chunk loops this short are unrolled
_FLAG = jax.ShapeDtypeStruct((), jnp.bool_)  # what `cancel.stop_flag` gives the loop


@dataclass
class _Pulled:
    scores: Any
    aux: Any
    pullback: Callable

    def gradients(self, which: Sequence[int]) -> list:
        # JAX gives zeros for a primal the scores do not depend on; the kernel's
        # contract is None there (a clear error, never a silent blank map).
        cotangent = jnp.ones_like(self.scores)
        connected = _connected(jax.make_jaxpr(self.pullback)(cotangent).jaxpr)
        grads = self.pullback(cotangent)
        return [grads[i] if connected[i] else None for i in which]


def _connected(jaxpr) -> list[bool]:
    """Per output of `jaxpr`: whether it depends on its inputs at all (a pullback's
    output that does not is a structural zero)."""
    reached = set(jaxpr.invars)
    for equation in jaxpr.eqns:
        if any(not isinstance(var, Literal) and var in reached for var in equation.invars):
            reached.update(equation.outvars)
    return [not isinstance(var, Literal) and var in reached for var in jaxpr.outvars]


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
        # Shapes are static under jit: whole chunks, then the rest. A few chunks are
        # unrolled (a loop around one big chunk measured 2.6x slower than the chunk
        # itself on CPU); many go through one compiled loop, which asks the host after
        # each chunk whether a stop was requested (`kernel.cancel`) and then ends early.
        per_pass = int(per_pass)
        whole, rest = divmod(count, per_pass)
        total = initial
        if whole <= _UNROLLED_CHUNKS:
            for index in range(whole):
                total = total + step(index * per_pass, per_pass)
        else:
            def body(state):
                index, acc, _ = state
                acc = acc + step(index * per_pass, per_pass)
                return index + 1, acc, io_callback(cancel.stop_flag, _FLAG)

            _, total, _ = jax.lax.while_loop(
                lambda state: (state[0] < whole) & ~state[2], body,
                (jnp.int32(0), total, jnp.asarray(False)))
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

    def uncompiled(self, fn):
        return None  # op-by-op dispatch compiles each operation: slower than one jit

    def output_shapes(self, fn, signature):
        shapes = [jax.ShapeDtypeStruct(sized(shape), dtype) for shape, dtype in signature]
        return jax.tree_util.tree_map(free_batch, jax.eval_shape(fn, *shapes))


BACKEND = JaxBackend()
