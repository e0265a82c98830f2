"""Latest-value-wins scheduling of kernel calls: one worker thread, one call at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: One kernel call at a time, whichever view or thread asks (TF functions are shared).
KERNEL_LOCK = threading.Lock()
_EXECUTOR: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
    """The worker thread every viewer's kernel calls run on."""
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cam_widgets")
    return _EXECUTOR


class LatestWins:
    """Run `prepare()`'s job for the latest request only; a burst of requests coalesces.

    With an asyncio loop running in this thread (a notebook kernel), `request()` returns at
    once: the job runs on a worker thread, the loop stays free for widget messages, and
    requests made meanwhile are merged into one run of the latest state when it ends.
    Without a running loop (scripts, plain tests) `request()` runs the job inline.

    `prepare()` (loop thread) returns None when it settled the request itself (a cache hit
    or an error), or a `(token, job)`; `finish(token, result, error)` (loop thread) applies
    what `job()` returned or raised; `busy(flag)` shows or hides the indicator.
    """

    def __init__(
        self,
        prepare: Callable[[], tuple[Any, Callable[[], Any]] | None],
        finish: Callable[[Any, Any, BaseException | None], None],
        busy: Callable[[bool], None],
    ) -> None:
        self._prepare = prepare
        self._finish = finish
        self._busy = busy
        self._dirty = False
        self._scheduled = False
        self._running: tuple[Any, Future] | None = None
        self.runs = 0  # jobs started (for tests and benchmarks)

    @property
    def idle(self) -> bool:
        return not (self._dirty or self._scheduled or self._running)

    def request(self) -> None:
        self._dirty = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if not self._scheduled and not self._running:
            self._scheduled = True
            loop.call_soon(self._kick, loop)

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if self._running or not self._dirty:
            return
        prepared = self._start()
        if prepared is None:
            return
        token, job = prepared
        future = executor().submit(job)
        self._running = (token, future)
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(self._done, token, f))

    def _start(self) -> tuple[Any, Callable[[], Any]] | None:
        """Take the pending request: `prepare()`'s (token, job), counted and shown as
        busy, or None when `prepare()` settled it itself."""
        self._dirty = False
        prepared = self._prepare()
        if prepared is not None:
            self.runs += 1
            self._busy(True)
        return prepared

    def _done(self, token: Any, future: Future) -> None:
        if self._running is None or self._running[1] is not future:
            return  # already applied by flush()
        self._running = None
        error = future.exception()
        self._finish(token, None if error else future.result(), error)
        if self._dirty:
            try:
                self._kick(asyncio.get_running_loop())
            except RuntimeError:
                self.flush()
        if self._running is None:
            self._busy(False)

    def flush(self) -> None:
        """Bring the state up to date now, in this thread (waits for a running job)."""
        if self._running is not None:
            token, future = self._running
            self._running = None
            self._finish(token, *outcome(future.result))
        while self._dirty:
            prepared = self._start()
            if prepared is not None:
                token, job = prepared
                self._finish(token, *outcome(job))
        self._busy(False)

    async def wait(self, timeout: float = 60.0) -> None:
        """Wait (asynchronously) until every request has been applied."""
        deadline = time.monotonic() + timeout
        while not self.idle:
            if time.monotonic() > deadline:
                raise TimeoutError("the viewer is still computing")
            await asyncio.sleep(0.002)


def outcome(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """(what `call()` returned, None), or (None, the error it raised): a job's own error
    is applied like any other result."""
    try:
        return call(), None
    except Exception as e:
        return None, e
