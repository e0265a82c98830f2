"""The TensorFlow backend: gradient tapes and tf.function."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from cam_widgets.kernel import cancel


_TRACING = threading.local()  # .xla: a function compiled with XLA is being traced


def _traced(fn: Callable, xla: bool, *args: Any) -> Any:
    """`fn(*args)`, with `_TRACING.xla` telling the loops inside whether XLA compiles them."""
    _TRACING.xla = xla
    try:
        return fn(*args)
    finally:
        _TRACING.xla = False


@dataclass
class _Taped:
    scores: Any
    aux: Any
    tape: tf.GradientTape
    primals: Sequence[tf.Tensor]

    def gradients(self, which: Sequence[int]) -> list:
        return self.tape.gradient(self.scores, [self.primals[i] for i in which])


class TensorFlowBackend:
    name = "tensorflow"

    def differentiate(self, fn, primals, *, again=False):
        primals = [tf.convert_to_tensor(p) for p in primals]
        # Only the primals are watched, not the weights: the tape records less.
        with tf.GradientTape(persistent=again, watch_accessed_variables=False) as tape:
            for primal in primals:
                tape.watch(primal)
            scores, aux = fn(*primals)
        return _Taped(scores, aux, tape, primals)

    def custom_gradient(self, values, backward):
        @tf.custom_gradient
        def identity(x):
            return tf.identity(x), lambda upstream: backward(x, upstream)

        return identity(values)

    def chunked_sum(self, count, per_pass, step, initial):
        def body(start, total):
            size = tf.minimum(per_pass, count - start)
            return start + size, total + step(start, size)

        def more(start, _):
            if getattr(_TRACING, "xla", False):  # XLA cannot call the host
                return start < count
            stop = tf.reshape(tf.numpy_function(cancel.stop_flag, [], tf.bool,
                                                stateful=True), [])
            return tf.logical_and(start < count, tf.logical_not(stop))

        _, total = tf.while_loop(more, body, (tf.constant(0, tf.int32), initial))
        return total

    def compile(self, fn, variables, signature, jit_compile):
        specs = [tf.TensorSpec(shape, dtype) for shape, dtype in signature]
        # autograph off: the walk is plain Python over layers, and converting it doubled
        # the trace time of large models. The partial gives each function its own
        # identity: TF counts traces per code object and would warn of "frequent
        # retracing" after five different functions traced once each. Variables are
        # read by the graph at each call, so new weights need no new trace.
        return tf.function(functools.partial(_traced, fn, jit_compile), input_signature=specs,
                           reduce_retracing=True, autograph=False, jit_compile=jit_compile)

    def uncompiled(self, fn: Callable) -> Callable:
        # Eager ops: about 5x a compiled call, but no trace (1.5-3 s on ResNet50).
        return lambda *args: fn(*(tf.convert_to_tensor(arg) for arg in args))

    def output_shapes(self, fn: Callable, signature):
        specs = [tf.TensorSpec(shape, dtype) for shape, dtype in signature]
        traced = tf.function(fn, autograph=False).get_concrete_function(*specs)
        return tf.nest.map_structure(lambda spec: (None, *spec.shape[1:]),
                                     traced.structured_outputs)


BACKEND = TensorFlowBackend()
