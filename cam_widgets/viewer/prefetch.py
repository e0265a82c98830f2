"""Pre-tracing: after a new map, compute in the background what the next likely actions
need, so their first use does not pay TensorFlow's tracing (0.5-3 s each). Only calls
of a kind not made before are queued: once traced, a kind costs its plain run time.

The likely actions are a class change at the current layer (the runner-up class, from
the cached layer activations), the guided toggle, and the layers next to the current
one in the layer menu. Each is one ordinary kernel call on the viewer's worker thread,
queued one at a time behind any user request: a user action waits at most for the one
call that is running. With an event loop (a notebook) the results are cached too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import numpy as np

from cam_widgets.viewer.explainer import Explainer
from cam_widgets.viewer.scheduler import executor
from cam_widgets.viewer.state import Settings


def likely_next(s: Settings, predictions: np.ndarray | None, layer_paths: list[str],
                uses_layer: bool, forces_guided: bool) -> list[Settings]:
    """The settings of the next likely actions from `s` (resolved: a layer path and a
    class), most likely first."""
    found: list[Settings] = []
    if predictions is not None and isinstance(s.target, int) and predictions.size > 1:
        order = [int(i) for i in np.argsort(-predictions)[:2]]
        runner_up = order[1] if order[0] == s.target else order[0]
        found.append(replace(s, target=runner_up))
    if not forces_guided:
        found.append(replace(s, guided=not s.guided))
    if uses_layer and s.layer in layer_paths:
        at = layer_paths.index(s.layer)
        found += [replace(s, layer=layer_paths[i]) for i in (at - 1, at + 1)
                  if 0 <= i < len(layer_paths)]
    return found


class Prefetcher:
    """Runs a queue of kernel calls on the worker thread, one after the other."""

    def __init__(self) -> None:
        self._queue: list[tuple[Explainer, Settings, Callable[[], Any]]] = []
        self._running: Future | None = None
        self.done: list[tuple[Settings, float]] = []  # what was pre-computed, in seconds

    @property
    def busy(self) -> bool:
        return bool(self._queue) or self._running is not None

    def start(self, explainer: Explainer, todo: list[Settings],
              compile_first: Settings | None = None) -> None:
        """Queue `todo`, skipping what is cached and what would trace nothing new (a
        call of the same kind ran before), and start if idle. `compile_first`: settings
        just shown from an uncompiled pass, whose kind is compiled before the rest."""
        warm = [compile_first] if compile_first is not None else []
        self._queue = [(explainer, s, explainer.job(s, quick=False, reuse=False))
                       for s in warm if explainer.trace_key(s, reuse=False) not in explainer.traced]
        self._queue += [(explainer, s, explainer.job(s, quick=False)) for s in todo
                        if explainer.cached(s) is None
                        and explainer.trace_key(s) not in explainer.traced]
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        if self._running is None:
            self._next()

    def cancel(self) -> None:
        self._queue = []

    def wait(self, timeout: float = 120.0) -> None:
        """Block until the queue is empty (benchmarks: the user's think time)."""
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.01)

    def _next(self) -> None:
        if not self._queue:
            self._running = None
            return
        explainer, s, job = self._queue.pop(0)
        self._running = executor().submit(self._run, explainer, s, job)

    def _run(self, explainer: Explainer, s: Settings, job: Callable[[], Any]) -> None:
        start = time.perf_counter()
        try:
            explanation, activations = job()
        except Exception:  # a setting that cannot be explained: the user will see why
            explanation = None
        self.done.append((s, time.perf_counter() - start))
        if explanation is not None and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(explainer.store, s, explanation, activations)
            except RuntimeError:  # the loop has closed (a test's asyncio.run ended)
                pass
        # queue the next one behind whatever the user asked meanwhile
        self._running = executor().submit(self._next) if self._queue else None
