"""Which cell of a comparison computes next: every method's map, cheapest first, then
their numbers, one kernel call at a time on the viewer's `LatestWins`; a result of an
older request (another class) is dropped when it arrives."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cam_widgets.compare.cells import CellMap, CellNumbers, CellSource, cost_order
from cam_widgets.viewer.scheduler import KERNEL_LOCK, LatestWins


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
        self._pending: list[tuple[str, str]] = []
        self._generation = 0
        self._request: tuple[CellSource, int | None] | None = None
        self.scheduler = LatestWins(self._prepare, self._finish, lambda busy: None)

    def restart(self, source: CellSource, target: int | None) -> None:
        """Every cell again for `target` (None: the predicted class) of `source`'s image:
        the results are cleared now, the jobs run from `scheduler.request()`."""
        self._generation += 1
        self._request = (source, target)
        self.maps.clear()
        self.numbers.clear()
        self.errors.clear()
        order = cost_order(self.methods)
        self._pending = [("map", m) for m in order] + [("numbers", m) for m in order]

    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        while self._pending:
            kind, method = self._pending.pop(0)
            if kind == "numbers" and method not in self.maps:
                continue  # its map failed
            (source, target), cell = self._request, self.maps.get(method)

            def job(kind=kind, method=method, cell=cell):
                with KERNEL_LOCK:
                    if kind == "map":
                        return source.cell_map(method, target)
                    return source.numbers(cell)
            return (self._generation, kind, method), job
        return None

    def _finish(self, token: Any, result: Any, error: BaseException | None) -> None:
        generation, kind, method = token
        if generation == self._generation:  # an older class's cell is dropped
            if error is not None:
                self.errors[method] = f"{type(error).__name__}: {error}"
            elif kind == "map":
                self.maps[method] = result
            else:
                self.numbers[method] = result
            if kind == "numbers":
                self._on_numbers()
            else:
                self._on_map(method)
        if self._pending:
            self.scheduler.request()
        elif generation == self._generation:
            self._on_done()
