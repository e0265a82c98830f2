"""A pool of Ray actors that loses no job when an actor or its whole node dies.

Each ready actor holds up to `depth` jobs (the next one waits in its queue while it works
on the current one). A job whose actor dies, or whose result was lost with its node, goes
back to the queue and a new actor is started in place of the dead one, wherever the
cluster has room; jobs are only given to actors that have started. An error raised by
the job itself (a bug, a bad `preprocess`) stops the run and is raised here.
"""
from __future__ import annotations

import collections
import time
from collections.abc import Callable, Sequence
from typing import Any

START_TIMEOUT_S = 600.0  # no actor at all for this long: the cluster has no room


class ActorPool:
    """`make()` starts one actor with `ready()` and `run(job)` methods."""

    def __init__(self, ray: Any, make: Callable[[], Any], size: int, depth: int = 2) -> None:
        self.ray, self.make, self.depth = ray, make, depth
        self.starting: dict[Any, Any] = {}  # ready() ref -> actor
        self.ready: list[Any] = []
        self.running: dict[Any, tuple[Any, Any]] = {}  # result ref -> (actor, job)
        self.replaced = 0
        for _ in range(size):
            self._start()

    def _start(self) -> None:
        actor = self.make()
        self.starting[actor.ready.remote()] = actor

    def _load(self, actor: Any) -> int:
        return sum(1 for owner, _ in self.running.values() if owner is actor)

    def _lost(self, actor: Any, retry: collections.deque, job: Any = None) -> None:
        """`actor` died: its jobs go back to the queue, a new actor takes its place."""
        if job is not None:
            retry.appendleft(job)
        for ref, (owner, other) in list(self.running.items()):
            if owner is actor:
                del self.running[ref]
                retry.appendleft(other)
        if actor in self.ready:
            self.ready.remove(actor)
            self.ray.kill(actor)
        self.replaced += 1
        self._start()

    def run(self, jobs: Sequence[Any], on_result: Callable[[Any, Any], None],
            on_ready: Callable[[Any], None] | None = None) -> None:
        """Run every job once; `on_result(result, actor)` as each finishes."""
        ray = self.ray
        lost = (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError,
                ray.exceptions.NodeDiedError, ray.exceptions.WorkerCrashedError)
        queue = collections.deque(jobs)
        idle_since = time.monotonic()
        while queue or self.running:
            for actor in self.ready:
                while queue and self._load(actor) < self.depth:
                    job = queue.popleft()
                    self.running[actor.run.remote(job)] = (actor, job)
            refs = [*self.running, *self.starting]
            done, _ = ray.wait(refs, num_returns=1, timeout=10.0)
            if not done:
                if not self.ready and time.monotonic() - idle_since > START_TIMEOUT_S:
                    raise RuntimeError(f"No Ray actor could start in {START_TIMEOUT_S:.0f} s: "
                                       "the cluster has no free CPU for one.")
                continue
            ref = done[0]
            if ref in self.starting:
                actor = self.starting.pop(ref)
                try:
                    info = ray.get(ref)
                except lost:  # died while starting (its node was lost): start another
                    self.replaced += 1
                    self._start()
                    continue
                self.ready.append(actor)
                if on_ready is not None:
                    on_ready(info)
                continue
            actor, job = self.running.pop(ref)
            try:
                result = ray.get(ref)
            except lost:
                self._lost(actor, queue, job)
                continue
            idle_since = time.monotonic()
            on_result(result, actor)

    def close(self) -> None:
        """Stop every actor, started or not."""
        for actor in [*self.ready, *self.starting.values()]:
            self.ray.kill(actor)
        self.ready, self.starting, self.running = [], {}, {}
