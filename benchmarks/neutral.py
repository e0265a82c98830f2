"""What the benchmark scripts share on every Keras backend: the models, the images, the
command line, measuring within a time budget, peak memory, and the summary lines that
`run_all` gathers into one table. Nothing here imports a backend (`common` adds the
TensorFlow pieces)."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import psutil

from benchmarks.timing import interleaved_samples, paired_ratios, table

# name -> (weights=None constructor, the layer Grad-CAM reads: the last conv block)
ARCHITECTURES: dict[str, tuple[Callable[..., keras.Model], str]] = {
    "resnet50": (keras.applications.ResNet50, "conv5_block3_out"),
    "mobilenetv2": (keras.applications.MobileNetV2, "out_relu"),
    "vgg16": (keras.applications.VGG16, "block5_conv3"),
}
FORWARD = "compiled forward"
SUMMARY_ENV = "CAM_WIDGETS_BENCH_SUMMARY"  # run_all sets it: a JSON-lines file


@dataclass(frozen=True)
class Settings:
    """What `--quick` changes: a smoke run on tiny images with one round."""

    quick: bool
    size: int  # image side
    budget: float  # seconds of timed rounds per group of candidates
    min_rounds: int
    max_rounds: int


def parse(description: str, add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
          ) -> tuple[argparse.Namespace, Settings]:
    """The script's arguments, and the settings `--quick` implies."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 64x64 images, small batches, one round")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timed rounds per table (default 60; 5 to 11 rounds)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        settings = Settings(True, 64, args.budget or 0.0, 1, 1)
    else:
        settings = Settings(False, 224, args.budget or 60.0, 5, 11)
    return args, settings


def build_model(name: str, size: int = 224, seed: int = 0) -> keras.Model:
    """A weights=None keras.applications model with its 1000-class head."""
    keras.utils.set_random_seed(seed)
    constructor, _ = ARCHITECTURES[name]
    return constructor(weights=None, input_shape=(size, size, 3))


def cam_layer(name: str) -> str:
    return ARCHITECTURES[name][1]


def make_images(batch: int, size: int = 224, seed: int = 0) -> np.ndarray:
    """(batch, size, size, 3) float32 noise in [0, 1]."""
    return np.random.default_rng(seed).random((batch, size, size, 3), np.float32)


def logits_model(model: keras.Model) -> keras.Model:
    """`model` with its final softmax dropped: a linear twin of the last Dense layer on
    the same graph (shared weights copied once), for peers that score the raw output."""
    last = model.layers[-1]
    twin = keras.layers.Dense(last.units, name=f"{last.name}_logits")
    outputs = twin(last.input)
    twin.set_weights(last.get_weights())
    return keras.Model(model.inputs, outputs, name=f"{model.name}_logits")


def predicted(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Each image's predicted class: every candidate explains these same classes."""
    return np.argmax(model.predict_on_batch(images), axis=1).astype(np.int64)


@dataclass(frozen=True)
class Timing:
    """Interleaved measurements of one table's candidates."""

    medians: dict[str, float]  # seconds per call
    ratios: dict[str, float]  # median over rounds of the time / the base's in that round
    rounds: int


def measure(candidates: dict[str, Callable[[], object]], settings: Settings,
            base: str = FORWARD) -> Timing:
    """Round-robin timing (`benchmarks.timing.interleaved_samples`) with as many rounds as
    fit the budget (each candidate's first call, which also warms it, sets the estimate);
    ratios to `base` are paired per round."""
    first = {}
    for name, run in candidates.items():
        start = time.perf_counter()
        run()
        first[name] = time.perf_counter() - start
    per_round = sum(first.values()) or 1e-9
    rounds = int(min(settings.max_rounds, max(settings.min_rounds, settings.budget // per_round)))
    samples = interleaved_samples(candidates, rounds=rounds, warmup=0)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return Timing(medians, paired_ratios(samples, base), rounds)


def ratio_table(timing: Timing, base: str = FORWARD,
                targets: dict[str, float] | None = None) -> str:
    """median ms, paired ratio to `base`, and the target where one is set (met: yes/NO)."""
    targets = targets or {}
    rows = []
    for name, seconds in timing.medians.items():
        ratio = timing.ratios[name]
        limit = targets.get(name)
        rows.append((name, f"{seconds * 1e3:.0f}", f"{ratio:.2f}x",
                     f"<= {limit:g}x" if limit else "",
                     ("yes" if ratio <= limit else "NO") if limit else ""))
    return table(rows, ("what", "median ms", f"x {base}", "target", "met"))


def record(section: str, what: str, value: str, target: str = "", met: str = "",
           ours: bool = True) -> None:
    """Add one line to the summary that run_all prints (no-op when run alone); `ours`
    puts it in the cam_widgets column, else in the peers' column."""
    path = os.environ.get(SUMMARY_ENV)
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"section": section, "what": what, "value": value,
                                  "target": target, "met": met, "ours": ours}) + "\n")


def record_ratios(section: str, timing: Timing, names: dict[str, str],
                  targets: dict[str, float] | None = None) -> None:
    """Record `names` (candidate -> summary label) as their paired ratios; labels that
    start with "cam_widgets" are ours."""
    targets = targets or {}
    for name, label in names.items():
        if name not in timing.ratios:
            continue
        ratio = timing.ratios[name]
        limit = targets.get(name)
        record(section, label, f"{ratio:.2f}x", f"<= {limit:g}x" if limit else "",
               ("yes" if ratio <= limit else "NO") if limit else "",
               ours=label.startswith("cam_widgets"))


class PeakRSS:
    """Samples this process's resident memory in a thread; `peak` is the highest seen."""

    def __init__(self, interval: float = 0.005) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.start = self.peak = self.end = 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.end = self._process.memory_info().rss
        self.peak = max(self.peak, self.end)
