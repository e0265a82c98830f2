"""Batch Grad-CAM: cam_widgets vs a compiled forward pass (the limit) vs tf-keras-vis vs
Xplique vs a keras.io-style eager Grad-CAM, on weights=None models at 224x224.

All candidates explain the same images and classes, at the last conv block, timed
round-robin in one process. Target: cam_widgets <= 1.05x the forward pass at b=8.
Run: python -m benchmarks.gradcam_batch [--model resnet50|mobilenetv2|vgg16|all]
     [--batches 1,8,32] [--quick]
"""
from __future__ import annotations

from benchmarks import peers
from benchmarks.common import (
    ARCHITECTURES, FORWARD, build_model, cam_layer, compiled_forward, machine,
    make_images, measure, parse, predicted, ratio_table, record_ratios)
from cam_widgets import explain

TARGET_B8 = 1.05
CAM_WIDGETS = "cam_widgets gradcam"


def _arguments(parser) -> None:
    parser.add_argument("--model", default="resnet50",
                        help=f"one of {', '.join(ARCHITECTURES)}, or all")
    parser.add_argument("--batches", default="1,8,32", help="comma-separated batch sizes")


def main() -> None:
    args, settings = parse(__doc__.splitlines()[0], _arguments)
    names = list(ARCHITECTURES) if args.model == "all" else [args.model]
    batches = [int(b) for b in args.batches.split(",")]
    if settings.quick:  # the same pattern, tiny
        batches = sorted({min(batch, 2) for batch in batches})
    print(f"## Batch Grad-CAM vs peers ({machine()})")
    for name in names:
        model, layer = build_model(name, settings.size), cam_layer(name)
        forward = compiled_forward(model)
        peer_runs, notes = {}, []
        for label, make in (
            ("keras.io-style eager", lambda: peers.keras_io_gradcam(model, layer)),
            ("tf-keras-vis", lambda: peers.tf_keras_vis_gradcam(model, layer)),
            ("xplique", lambda: peers.xplique_gradcam(model, layer)),
        ):
            try:
                peer_runs[label] = make()
            except peers.Unavailable as why:
                notes.append(f"{label}: not run: {why}")
        for batch in batches:
            images = make_images(batch, settings.size, seed=batch)
            targets = predicted(model, images)
            candidates = {
                FORWARD: lambda: forward(images),
                CAM_WIDGETS: lambda: explain(model, images, layer=layer, target=targets),
            }
            for label, run in peer_runs.items():
                candidates[label] = lambda run=run: run(images, targets)
            timing = measure(candidates, settings)
            targets_met = {CAM_WIDGETS: TARGET_B8} if batch == 8 else {}
            print(f"\n{name} (weights=None) {settings.size}x{settings.size}, layer {layer}, "
                  f"batch {batch}, median of {timing.rounds} interleaved rounds")
            print(ratio_table(timing, targets=targets_met))
            section = f"Grad-CAM, {name}, b={batch} (x compiled forward)"
            record_ratios(section, timing, {CAM_WIDGETS: "cam_widgets",
                                             **{label: label for label in peer_runs}},
                          targets=targets_met)
        for note in notes:
            print(note)


if __name__ == "__main__":
    main()
