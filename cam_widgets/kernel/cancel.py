"""Abandoning a running explanation.

The long methods (SmoothGrad, Integrated Gradients, occlusion, Score-CAM) sum their
copies chunk by chunk (`methods.batching.chunked_sum`); between chunks the backend's
loop asks `stop_requested()` and ends early when it is set (TensorFlow: the compiled
loop's condition calls the host, except under XLA; JAX: its compiled loop calls back,
when it has more than two chunks; PyTorch: its Python loop). `explain` then
raises `Cancelled` instead of returning a partial sum, and the stop is withdrawn. The
metrics that run the model over many changed copies (deletion/insertion, ROAD) ask
between forward batches. One
kernel call runs at a time (the widgets' `KERNEL_LOCK`), so one flag serves the whole
process: the widget that started the running call sets it when a newer request makes that
call useless, and only while that call runs. A stop asked while nothing runs stops the
next call; `clear()` withdraws it.
"""
from __future__ import annotations

import threading

import numpy as np

__all__ = ["Cancelled", "check", "clear", "request_stop", "stop_requested"]

_STOP = threading.Event()


class Cancelled(RuntimeError):
    """The explanation was abandoned (`request_stop()` during the call)."""


def request_stop() -> None:
    """Ask the running explanation to stop at its next chunk."""
    _STOP.set()


def clear() -> None:
    """Withdraw a stop: the next explanation runs to its end."""
    _STOP.clear()


def stop_requested() -> bool:
    """Whether the running explanation was asked to stop."""
    return _STOP.is_set()


def check(what: str) -> None:
    """Raise `Cancelled` for `what` (and withdraw the stop) if a stop was requested."""
    if _STOP.is_set():
        _STOP.clear()
        raise Cancelled(f"{what} was abandoned: a stop was requested while it ran.")


def stop_flag() -> np.ndarray:
    """`stop_requested()` as a NumPy bool scalar (what a compiled loop reads from the
    host)."""
    return np.asarray(_STOP.is_set())
