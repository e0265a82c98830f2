"""Start-up apart from steady state: when the warm-up batches ended, how fast the rest ran."""
from __future__ import annotations

import time
from typing import Any


class RunClock:
    """Times one run. `batch(images, warm)` is called as each batch finishes; `warm`
    says this batch ends the warm-up (the local engine's first batch; on Ray, the batch
    that completes every actor's first one: start-up is cluster join, actor start,
    model load and the first trace)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_batch_at: float | None = None
        self.warm_at: float | None = None
        self.last_at: float | None = None
        self.steady_images = 0

    def batch(self, images: int, warm: bool) -> None:
        now = time.perf_counter()
        if self.first_batch_at is None:
            self.first_batch_at = now
        if self.warm_at is not None:
            self.steady_images += images
        elif warm:
            self.warm_at = now
        self.last_at = now

    def report(self, written: int, **startup: float) -> dict[str, Any]:
        """images_per_s over the whole run, and `timing`: start-up phases in seconds and
        the steady state's images/s (None when no batch ran after the warm-up)."""
        end = time.perf_counter()
        seconds = end - self.started
        steady = None
        if self.warm_at is not None and self.steady_images and self.last_at > self.warm_at:
            steady = self.steady_images / (self.last_at - self.warm_at)
        timing = {**{k: round(v, 4) for k, v in startup.items()},
                  "first_batch_s": None if self.first_batch_at is None
                  else self.first_batch_at - self.started,
                  "warm_s": None if self.warm_at is None else self.warm_at - self.started,
                  "steady_images_per_s": steady}
        return {"images_per_s": written / seconds if seconds > 0 and written else 0.0,
                "timing": timing}
