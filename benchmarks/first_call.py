"""First-call (trace) cost, and the cost of a second model of the same architecture.

For weights=None ResNet50 at 224x224, batch 8 (SmoothGrad: batch 1): each candidate's
first call on model A (tracing, or a peer's set-up such as cloning, plus its first call),
its steady call (median of 3 after that), a new batch size on model A (5 images: the
compiled functions have a None batch dimension, so this must not retrace), then the same
on a second ResNet50 (model B, other weights). The TensorFlow runtime is warmed first on
a tiny model, so the numbers are per model, not per process. First calls cannot be
interleaved; each is one sample. Run: python -m benchmarks.first_call [--quick]
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from benchmarks import peers
from benchmarks.common import (
    build_model, cam_layer, compiled_forward, machine, make_images, parse, predicted, record)
from benchmarks.timing import table
from cam_widgets import explain
from cam_widgets.kernel.explain import compiled_functions

Setup = Callable[[object], Callable[[object, object], object]]  # model -> run(images, targets)


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _forward_setup(model):
    forward = compiled_forward(model)
    return lambda images, _targets: forward(images)


def candidates(layer: str, n_samples: int) -> dict[str, tuple[Setup, int]]:
    """name -> (set-up on a model returning run(images, targets), batch size)."""
    def cam_widgets(**kwargs) -> Setup:
        return lambda model: (lambda images, targets: explain(model, images, target=targets,
                                                              **kwargs))
    return {
        "compiled forward": (_forward_setup, 8),
        "cam_widgets gradcam": (cam_widgets(layer=layer), 8),
        "cam_widgets guided_backprop": (cam_widgets(method="guided_backprop"), 8),
        "cam_widgets smoothgrad (b=1)": (cam_widgets(method="smoothgrad",
                                                     n_samples=n_samples), 1),
        "keras.io-style eager gradcam": (lambda model: peers.keras_io_gradcam(model, layer), 8),
        "tf-keras-vis gradcam": (lambda model: peers.tf_keras_vis_gradcam(model, layer), 8),
        "xplique gradcam": (lambda model: peers.xplique_gradcam(model, layer), 8),
        "xplique guided backprop": (peers.xplique_guided_backprop, 8),
    }



def main() -> None:
    _, settings = parse(__doc__.splitlines()[0])
    n_samples = 3 if settings.quick else 25
    steady_calls = 1 if settings.quick else 3
    layer = cam_layer("resnet50")

    warm_model = build_model("mobilenetv2", 32, seed=9)  # TF runtime, not ResNet50's traces
    warm_images = make_images(2, 32)
    compiled_forward(warm_model)(warm_images)
    explain(warm_model, warm_images)

    models = {"A": build_model("resnet50", settings.size, seed=0),
              "B": build_model("resnet50", settings.size, seed=1)}
    images = {batch: make_images(batch, settings.size, seed=batch) for batch in (1, 5, 8)}
    targets = {batch: predicted(models["A"], images[batch]) for batch in images}
    rows, notes = [], []
    for name, (setup, batch) in candidates(layer, n_samples).items():
        cells = {}
        for label, model in models.items():
            try:
                first = time.perf_counter()
                run = setup(model)
                run(images[batch], targets[batch])
                cells[f"first {label}"] = time.perf_counter() - first
            except peers.Unavailable as why:
                notes.append(f"{name}: not run: {why}")
                break
            steady = statistics.median(_seconds(lambda: run(images[batch], targets[batch]))
                                       for _ in range(steady_calls))
            cells[f"steady {label}"] = steady
            if label == "A" and batch == 8:
                cells["new batch size"] = _seconds(lambda: run(images[5], targets[5]))
        if not cells:
            continue
        steady = cells["steady A"]
        rows.append((name, f"{cells['first A']:.2f}", f"{steady * 1e3:.0f}",
                     f"{cells.get('new batch size', float('nan')) * 1e3:.0f}",
                     f"{cells['first B']:.2f}", f"{cells['steady B'] * 1e3:.0f}",
                     f"{cells['first A'] - steady:.2f}",
                     f"{cells['first B'] - cells['steady B']:.2f}"))
        record("First call (s above a steady call), resnet50", name,
               f"model A {cells['first A'] - steady:.1f} s, second model "
               f"{cells['first B'] - cells['steady B']:.1f} s",
               ours=name.startswith("cam_widgets"))

    print(f"## First-call (trace) cost and a second model, ResNet50 (weights=None) "
          f"{settings.size}x{settings.size} ({machine()})")
    print(table(rows, ("what", "first call A s", "steady A ms", "5 images on A ms",
                       "first call B s", "steady B ms", "trace A s", "trace B s")))
    print("trace = first call minus a steady call (set-up such as cloning included); "
          "'5 images' is the first call with a new batch size, after the steady calls")
    for label, model in models.items():
        functions = compiled_functions(model)
        counts = [function.experimental_get_tracing_count() for function in functions.values()]
        print(f"model {label}: {len(functions)} cam_widgets compiled functions, traced "
              f"{sum(counts)} time(s) in all ({counts})")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
