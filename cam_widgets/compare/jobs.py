"""Which cells of a comparison compute next: every method's map, cheapest first (the
CAM family and saliency in one job), then their numbers, one kernel call at a time on the
viewer's `LatestWins`. A result of an older request (another class) is dropped when it
arrives, and an expensive map or numbers job still running for one is abandoned
(`kernel.cancel`)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from cam_widgets.compare.cells import EXPENSIVE, CellMap, CellNumbers, CellSource
from cam_widgets.kernel import cancel
from cam_widgets.viewer.scheduler import KERNEL_LOCK, LatestWins, outcome


class CellJobs:
    """The maps, numbers and errors of the current request, filled as jobs finish.

    `on_map(method)` is called when a method's map (or its error) arrives,
    `on_numbers()` when any numbers arrive (every caption may change its star), and
    `on_done()` when the last job of the current request has finished."""

    def __init__(self, methods: Sequence[str], on_map: Callable[[str], None],
                 on_numbers: Callable[[], None], on_done: Callable[[], None]) -> None:
        self.methods = tuple(methods)
        self._on_map, self._on_numbers, self._on_done = on_map, on_numbers, on_done
        self.maps: dict[str, CellMap] = {}
        self.numbers: dict[str, CellNumbers] = {}
        self.errors: dict[str, str] = {}
        self._pending: list[tuple[str, tuple[str, ...]]] = []  # (kind, methods)
        self.generation = 0  # counts requests: a map is known by (generation, method)
        self._running: tuple[str, tuple[str, ...]] = ("", ())  # the job running: kind, methods
        self._running_lock = threading.Lock()  # a stop is asked only while ours runs
        self._request: tuple[CellSource, int | None] | None = None
        self.scheduler = LatestWins(self._prepare, self._finish, lambda busy: None)

    def restart(self, source: CellSource, target: int | None) -> None:
        """Every cell again for `target` (None: the predicted class) of `source`'s image:
        the results are cleared now, the jobs run from `scheduler.request()`."""
        self.generation += 1
        with self._running_lock:
            kind, methods = self._running
            if kind == "numbers" or EXPENSIVE.intersection(methods):
                cancel.request_stop()  # it belongs to the old request: abandon it
        self._request = (source, target)
        self.maps.clear()
        self.numbers.clear()
        self.errors.clear()
        maps = source.plan(self.methods)
        self._pending = [("maps", group) for group in maps]
        self._pending += [("numbers", (m,)) for group in maps for m in group]

    def run_first(self) -> None:
        """Run the first pending job now, in this thread (`show()` returns with the
        cheap maps drawn); the rest stay with the scheduler."""
        prepared = self._prepare()
        if prepared is not None:
            token, job = prepared
            self._finish(token, *outcome(job))

    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        while self._pending:
            kind, methods = self._pending.pop(0)
            if kind == "numbers" and methods[0] not in self.maps:
                continue  # its map failed
            (source, target), cell = self._request, self.maps.get(methods[0])

            def job(kind=kind, methods=methods, cell=cell):
                with KERNEL_LOCK:
                    self._started(kind, methods)
                    try:
                        if kind == "numbers":
                            return source.numbers(cell)
                        return source.maps(methods, target)
                    finally:
                        self._started("", ())
            return (self.generation, kind, methods), job
        return None

    def _started(self, kind: str, methods: tuple[str, ...]) -> None:
        """Note the job running now ("maps" or "numbers" of `methods`; none: `""`); no
        stop is left over either way."""
        with self._running_lock:
            cancel.clear()
            self._running = (kind, methods)

    def _finish(self, token: Any, result: Any, error: BaseException | None) -> None:
        generation, kind, methods = token
        if generation == self.generation:  # an older class's cells are dropped
            if error is not None:
                for method in methods:
                    self.errors[method] = f"{type(error).__name__}: {error}"
            elif kind == "maps":
                self.maps.update(result)
            else:
                self.numbers[methods[0]] = result
            if kind == "numbers":
                self._on_numbers()
            else:
                for method in methods:
                    self._on_map(method)
        if self._pending:
            self.scheduler.request()
        elif generation == self.generation:
            self._on_done()
