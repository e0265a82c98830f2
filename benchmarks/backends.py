"""cam_widgets on each Keras backend against that backend's own compiled forward pass.

One process per backend (Keras fixes its backend when it is imported):
    KERAS_BACKEND=jax python -m benchmarks.backends [--quick]
measures, interleaved in that one process: Grad-CAM and guided backprop on a batch
against the backend's compiled forward pass of the same batch (TensorFlow: a tf.function
of `model(x, training=False)`; JAX: `jax.jit` of `model.stateless_call(...)`; torch: the
forward under `torch.no_grad()`, eager), SmoothGrad n=25 on one image against its floor
(a bare input gradient of the class logit over the same 25 noisy copies as one batch,
written below with tf.GradientTape / jax.grad / torch.autograd), and each candidate's
first call (the trace or compilation; the backend's runtime is warmed first on a tiny
model, so it is the cost per model). Full size: weights=None ResNet50, 224x224, b=8;
3 to 11 rounds as fit 60 s per table; `--quick`: ResNet50 at 64x64, SmoothGrad n=10,
3 rounds (MobileNetV2's depthwise convolutions are slow on JAX and torch CPU: at 96x96 its
forward pass took 0.2 s on JAX and 8 s on torch against 0.07 s on TensorFlow).
    python -m benchmarks.backends --all [--quick] [--backends tensorflow,jax,torch]
runs each backend in a subprocess and prints one table with a row per backend.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.timing import cores_and_cpu, table

BACKENDS = ("tensorflow", "jax", "torch")
TARGETS = {"gradcam": 1.1, "guided_backprop": 2.3, "smoothgrad": 1.1}
FLOOR = "floor: bare input gradient of the copies"
Forward = Callable[[object], object]  # images -> numpy outputs
Floor = Callable[[object, object], object]  # (images, classes) -> numpy input gradients


def _tensorflow_pieces(model, logits) -> tuple[Forward, Floor]:
    from benchmarks.common import bare_input_gradient, compiled_forward

    return compiled_forward(model), bare_input_gradient(model)


def _jax_pieces(model, logits) -> tuple[Forward, Floor]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    def values(variables) -> list:
        return [variable.value for variable in variables]

    @jax.jit
    def forward(trainable, non_trainable, images):
        return model.stateless_call(trainable, non_trainable, images, training=False)[0]

    def score(images, trainable, non_trainable, classes):
        outputs = logits.stateless_call(trainable, non_trainable, images, training=False)[0]
        return jnp.take_along_axis(outputs, classes[:, None], axis=1).sum()

    gradient = jax.jit(jax.grad(score))
    return (
        lambda images: np.asarray(forward(values(model.trainable_variables),
                                          values(model.non_trainable_variables), images)),
        lambda images, classes: np.asarray(gradient(
            images, values(logits.trainable_variables),
            values(logits.non_trainable_variables), classes)))


def _torch_pieces(model, logits) -> tuple[Forward, Floor]:
    import keras
    import torch

    def forward(images):
        with torch.no_grad():
            return keras.ops.convert_to_numpy(
                model(keras.ops.convert_to_tensor(images), training=False))

    def floor(images, classes):
        pixels = keras.ops.convert_to_tensor(images).requires_grad_(True)
        chosen = keras.ops.convert_to_tensor(classes)[:, None]
        score = torch.gather(logits(pixels, training=False), 1, chosen).sum()
        (gradient,) = torch.autograd.grad(score, [pixels])
        return gradient.numpy()

    return forward, floor


PIECES = {"tensorflow": _tensorflow_pieces, "jax": _jax_pieces, "torch": _torch_pieces}


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _warm_runtime(explain) -> None:
    """Start the backend's runtime on a tiny model, so first calls are per model."""
    import keras
    import numpy as np

    tiny = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    explain(tiny, np.zeros((1, 16, 16, 3), np.float32), method="gradcam")


def measure_backend(quick: bool, batch: int, n_samples: int, budget: float | None) -> dict:
    """Every measurement on the running Keras backend, as a JSON-ready dict."""
    import keras
    import numpy as np

    from benchmarks.neutral import (
        FORWARD, Settings, build_model, cam_layer, logits_model, make_images, measure,
        predicted, ratio_table)
    from cam_widgets import explain

    backend = keras.config.backend()
    name, size = "resnet50", (64 if quick else 224)
    settings = Settings(quick, size, budget if budget is not None else (5.0 if quick else 60.0),
                        3, 3 if quick else 11)
    _warm_runtime(explain)
    model = build_model(name, size)
    forward, floor = PIECES[backend](model, logits_model(model))
    layer = cam_layer(name)
    images = make_images(batch, size)
    classes = predicted(model, images)
    one = make_images(1, size, seed=1)
    one_class = predicted(model, one)
    spread = float(one.max() - one.min())  # SmoothGrad's default noise, made beforehand
    copies = (one + 0.15 * spread * np.random.default_rng(0).standard_normal(
        (n_samples, size, size, 3))).astype(np.float32)
    copy_classes = np.repeat(one_class, n_samples)

    batch_candidates = {
        FORWARD: lambda: forward(images),
        "gradcam": lambda: explain(model, images, layer=layer, target=classes),
        "guided_backprop": lambda: explain(model, images, method="guided_backprop",
                                           target=classes),
    }
    noise_candidates = {
        FLOOR: lambda: floor(copies, copy_classes),
        "smoothgrad": lambda: explain(model, one, method="smoothgrad", target=one_class,
                                      n_samples=n_samples),
    }
    first = {what: _seconds(run) for what, run in {**batch_candidates,
                                                    **noise_candidates}.items()}
    on_batch = measure(batch_candidates, settings)
    on_copies = measure(noise_candidates, settings, base=FLOOR)
    print(f"\n{backend}: {name} (weights=None) {size}x{size}, b={batch}, median of "
          f"{on_batch.rounds} interleaved rounds")
    print(ratio_table(on_batch, targets={k: TARGETS[k] for k in ("gradcam", "guided_backprop")}))
    print(f"\n{backend}: SmoothGrad n={n_samples}, b=1, against its floor, median of "
          f"{on_copies.rounds} interleaved rounds")
    print(ratio_table(on_copies, base=FLOOR, targets={"smoothgrad": TARGETS["smoothgrad"]}))
    print("\nfirst calls (s): " + ", ".join(f"{k} {v:.1f}" for k, v in first.items()))
    return {"backend": backend, "version": _framework_version(backend),
            "keras": keras.__version__, "model": name, "size": size, "batch": batch,
            "n_samples": n_samples, "first": first,
            "medians": {**on_batch.medians, **on_copies.medians},
            "ratios": {"gradcam": on_batch.ratios["gradcam"],
                       "guided_backprop": on_batch.ratios["guided_backprop"],
                       "smoothgrad": on_copies.ratios["smoothgrad"]},
            "rounds": [on_batch.rounds, on_copies.rounds]}


def _framework_version(backend: str) -> str:
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    return __import__(module).__version__


def _ratio(result: dict, what: str) -> str:
    ratio, limit = result["ratios"][what], TARGETS[what]
    return f"{ratio:.2f}x{'' if ratio <= limit else ' (NO)'}"


def summary(results: list[dict]) -> str:
    """One row per backend: medians, ratios (NO where a target is missed), first calls."""
    rows = []
    for result in results:
        first, medians = result["first"], result["medians"]
        rows.append((
            f"{result['backend']} {result['version']}",
            f"{medians['compiled forward'] * 1e3:.0f}", _ratio(result, "gradcam"),
            _ratio(result, "guided_backprop"),
            f"{medians[FLOOR] * 1e3:.0f}", _ratio(result, "smoothgrad"),
            " / ".join(f"{first[k]:.1f}" for k in ("compiled forward", "gradcam",
                                                   "guided_backprop", "smoothgrad"))))
    header = ("backend", f"forward b={results[0]['batch']} ms",
              f"Grad-CAM (<= {TARGETS['gradcam']}x)",
              f"guided backprop (<= {TARGETS['guided_backprop']}x)", "SmoothGrad floor ms",
              f"SmoothGrad n={results[0]['n_samples']} x floor (<= {TARGETS['smoothgrad']}x)",
              "first call s: forward / Grad-CAM / guided / SmoothGrad")
    return table(rows, header)


def run_all(backends: list[str], passed: list[str]) -> int:
    """Each backend in its own process; their tables as they come, then one summary."""
    results, failed = [], []
    for backend in backends:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            print(f"\n$ KERAS_BACKEND={backend} python -m benchmarks.backends "
                  f"{' '.join(passed)}", flush=True)
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            code = subprocess.call([sys.executable, "-m", "benchmarks.backends", *passed,
                                    "--json", out.name], env=env)
            if code:
                failed.append(f"{backend} (exit code {code})")
                continue
            results.append(json.loads(Path(out.name).read_text()))
    if results:
        first = results[0]
        print(f"\n## Each backend against its own compiled forward pass: {first['model']} "
              f"(weights=None) {first['size']}x{first['size']}, {cores_and_cpu()}, "
              f"CPU only, Keras {first['keras']}; interleaved medians\n")
        print(summary(results))
        _record(results)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


def _record(results: list[dict]) -> None:
    """Summary lines for run_all (a no-op when run alone)."""
    from benchmarks.neutral import record

    for result in results:
        section = f"Backends, {result['model']}: {result['backend']}"
        for what, label in (("gradcam", "Grad-CAM x forward"),
                            ("guided_backprop", "guided backprop x forward"),
                            ("smoothgrad", "SmoothGrad x floor")):
            ratio = result["ratios"][what]
            record(section, f"cam_widgets {label}", f"{ratio:.2f}x",
                   f"<= {TARGETS[what]:g}x", "yes" if ratio <= TARGETS[what] else "NO")
        record(section, "cam_widgets first Grad-CAM call", f"{result['first']['gradcam']:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: ResNet50 at 64x64, n=10, 3 rounds")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=None,
                        help="SmoothGrad samples (default 25; --quick 10)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timed rounds per table (default 60; --quick 5)")
    parser.add_argument("--all", action="store_true",
                        help="run every backend in a subprocess and print one table")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="with --all: which backends, comma-separated")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args()
    args.samples = args.samples or (10 if args.quick else 25)
    if args.all:
        backends = [name.strip() for name in args.backends.split(",") if name.strip()]
        unknown = sorted(set(backends) - set(BACKENDS))
        if unknown:
            parser.error(f"--backends: unknown {', '.join(unknown)}; "
                         f"choose from {', '.join(BACKENDS)}")
        passed = [*(["--quick"] if args.quick else []), "--batch", str(args.batch),
                  "--samples", str(args.samples),
                  *(["--budget", str(args.budget)] if args.budget is not None else [])]
        return run_all(backends, passed)
    result = measure_backend(args.quick, args.batch, args.samples, args.budget)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out)
    else:
        print()
        print(summary([result]))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
