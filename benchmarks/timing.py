"""Interleaved timing: every candidate is timed in turn, round after round, so drift on
a shared machine hits all of them alike; medians and ratios come from one process."""
from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def interleaved_samples(candidates: dict[str, Callable[[], object]], rounds: int = 7,
                        warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of every call of each candidate, measured round-robin: sample i of every
    candidate comes from round i, so per-round ratios pair calls made side by side."""
    for run in candidates.values():
        for _ in range(warmup):
            run()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return samples


def interleaved_medians(candidates: dict[str, Callable[[], object]], rounds: int = 7,
                        warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each candidate, measured round-robin."""
    samples = interleaved_samples(candidates, rounds, warmup)
    return {name: statistics.median(values) for name, values in samples.items()}


def paired_ratios(samples: dict[str, list[float]], base: str) -> dict[str, float]:
    """Median over rounds of each candidate's time divided by `base`'s in the same round:
    steadier than a ratio of medians when the machine's speed drifts between rounds."""
    return {name: statistics.median(t / b for t, b in zip(values, samples[base], strict=True))
            for name, values in samples.items()}


def table(rows: list[tuple], header: tuple) -> str:
    """A plain-text table (Markdown pipe syntax)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cores_and_cpu() -> str:
    return f"{os.cpu_count()} cores ({cpu_name()})"
