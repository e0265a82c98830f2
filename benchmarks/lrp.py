"""LRP with a composite on ResNet50 (weights=None) 224x224, b=8, against a compiled
forward pass of the same batch (target: epsilon_plus <= 3x), with the input gradient
(saliency) beside it as the price of one backward pass.

Run: python -m benchmarks.lrp [--batch 8] [--budget 60] [--quick]
(--quick: 64x64 images, one round: a smoke run, not the target's measurement).
"""
from __future__ import annotations

from benchmarks.common import (
    FORWARD, build_model, compiled_forward, machine, make_images, measure, parse, predicted,
    ratio_table, record_ratios)
from cam_widgets import explain

TARGET = 3.0


def _arguments(parser) -> None:
    parser.add_argument("--batch", type=int, default=8)


def main() -> None:
    args, settings = parse(__doc__.splitlines()[0], _arguments)
    model = build_model("resnet50", settings.size)
    images = make_images(args.batch, settings.size)
    targets = predicted(model, images)
    forward = compiled_forward(model)

    def ours(**options):
        return lambda: explain(model, images, method="lrp", target=targets, **options)

    candidates = {
        FORWARD: lambda: forward(images),
        "lrp epsilon_plus": ours(composite="epsilon_plus"),
        "lrp epsilon_gamma_box": ours(composite="epsilon_gamma_box"),
        "lrp epsilon": ours(rule="epsilon"),
        "saliency": lambda: explain(model, images, method="saliency", target=targets),
    }
    timing = measure(candidates, settings)
    size = settings.size
    print(f"## LRP: ResNet50 {size}x{size}, batch {args.batch} ({machine()}), "
          f"median of {timing.rounds} interleaved rounds")
    print(ratio_table(timing, targets={"lrp epsilon_plus": TARGET}))
    record_ratios("lrp", timing, {"lrp epsilon_plus": "cam_widgets lrp epsilon_plus"},
                  targets={"lrp epsilon_plus": TARGET})


if __name__ == "__main__":
    main()
