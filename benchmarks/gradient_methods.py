"""Guided backprop and SmoothGrad (n=25): cam_widgets vs a compiled forward pass vs the
peers that have the method (guided backprop: Xplique; SmoothGrad: tf-keras-vis, Xplique).

Targets: guided backprop <= 3x the forward pass (b=8); SmoothGrad n=25 <= 25x the
forward pass at b=1. Candidates are timed round-robin in one process.
Run: python -m benchmarks.gradient_methods [--model resnet50|mobilenetv2|vgg16|all]
     [--part guided,smoothgrad] [--quick]
"""
from __future__ import annotations

from benchmarks import peers
from benchmarks.common import (
    ARCHITECTURES, FORWARD, build_model, compiled_forward, machine, make_images, measure,
    parse, predicted, ratio_table, record_ratios)
from cam_widgets import explain

GUIDED_TARGET = 3.0
SMOOTHGRAD_TARGET = 25.0  # for n=25: one forward pass per noisy sample


def _arguments(parser) -> None:
    parser.add_argument("--model", default="resnet50",
                        help=f"one of {', '.join(ARCHITECTURES)}, or all")
    parser.add_argument("--guided-batches", default="1,8")
    parser.add_argument("--samples", type=int, default=25, help="SmoothGrad samples")
    parser.add_argument("--part", default="guided,smoothgrad", help="comma-separated parts")


def guided_tables(name, model, forward, batches, settings, notes) -> None:
    guided = None
    try:
        guided = peers.xplique_guided_backprop(model)
    except peers.Unavailable as why:
        notes.append(f"xplique guided backprop: not run: {why}")
    for batch in batches:
        images = make_images(batch, settings.size, seed=batch)
        targets = predicted(model, images)
        candidates = {
            FORWARD: lambda: forward(images),
            "cam_widgets guided_backprop": lambda: explain(
                model, images, method="guided_backprop", target=targets),
        }
        if guided is not None:
            candidates["xplique"] = lambda: guided(images, targets)
        timing = measure(candidates, settings)
        limits = {"cam_widgets guided_backprop": GUIDED_TARGET} if batch == 8 else {}
        print(f"\nGuided backprop, {name} {settings.size}x{settings.size}, batch {batch}, "
              f"median of {timing.rounds} interleaved rounds")
        print(ratio_table(timing, targets=limits))
        record_ratios(f"Guided backprop, {name}, b={batch} (x compiled forward)", timing,
                      {"cam_widgets guided_backprop": "cam_widgets", "xplique": "xplique"},
                      targets=limits)


def smoothgrad_table(name, model, forward, n_samples, settings, notes) -> None:
    images = make_images(1, settings.size, seed=1)
    targets = predicted(model, images)
    candidates = {
        FORWARD: lambda: forward(images),
        "cam_widgets smoothgrad": lambda: explain(
            model, images, method="smoothgrad", target=targets, n_samples=n_samples),
    }
    for label, make in (("tf-keras-vis", peers.tf_keras_vis_smoothgrad),
                        ("xplique", peers.xplique_smoothgrad)):
        peers.add_peer(candidates, notes, label, lambda make=make: make(model, n_samples),
                       images, targets)
    timing = measure(candidates, settings)
    limits = {"cam_widgets smoothgrad": SMOOTHGRAD_TARGET * n_samples / 25}
    print(f"\nSmoothGrad n={n_samples}, {name} {settings.size}x{settings.size}, batch 1, "
          f"median of {timing.rounds} interleaved rounds")
    print(ratio_table(timing, targets=limits))
    record_ratios(f"SmoothGrad n={n_samples}, {name}, b=1 (x compiled forward)", timing,
                  {"cam_widgets smoothgrad": "cam_widgets", "tf-keras-vis": "tf-keras-vis",
                   "xplique": "xplique"}, targets=limits)


def main() -> None:
    args, settings = parse(__doc__.splitlines()[0], _arguments)
    names = list(ARCHITECTURES) if args.model == "all" else [args.model]
    parts = args.part.split(",")
    guided_batches = [1, 2] if settings.quick else [int(b) for b in args.guided_batches.split(",")]
    n_samples = 3 if settings.quick else args.samples
    print(f"## Guided backprop and SmoothGrad vs peers ({machine()})")
    for name in names:
        model = build_model(name, settings.size)
        forward = compiled_forward(model)
        notes: list[str] = []
        if "guided" in parts:
            guided_tables(name, model, forward, guided_batches, settings, notes)
        if "smoothgrad" in parts:
            smoothgrad_table(name, model, forward, n_samples, settings, notes)
        for note in notes:
            print(note)


if __name__ == "__main__":
    main()
