"""One pass for many maps, on weights=None ResNet50 at 224x224, batch 8:
- top_k=5: the maps of each image's 5 best classes from one forward pass, vs a compiled
  forward (target <= 1.15x), vs 5 cam_widgets calls and the peers' 5 passes;
- all four stage outputs (conv2_block3_out, conv3_block4_out, conv4_block6_out,
  conv5_block3_out) from one pass, vs a compiled forward (target <= 2.5x), vs 4 calls
  and the peers' 4 passes;
- XLA (jit_compile=True) on and off for one map, top_k=5 and the four stages.
Run: python -m benchmarks.one_pass [--part top_k,layers,xla] [--quick]
"""
from __future__ import annotations

import numpy as np

from benchmarks import peers
from benchmarks.common import (
    FORWARD, build_model, compiled_forward, machine, make_images, measure, parse,
    ratio_table, record_ratios)
from cam_widgets import explain

STAGES = ["conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"]
TOP_K, TOP_K_TARGET, STAGES_TARGET = 5, 1.15, 2.5
PARTS = ("top_k", "layers", "xla")


def _arguments(parser) -> None:
    parser.add_argument("--part", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--batch", type=int, default=8)


def _peer_factories(model):
    """label -> (layer -> peer run), each peer set up once per layer."""
    return {
        "keras.io-style eager": lambda layer: peers.keras_io_gradcam(model, layer),
        "tf-keras-vis": lambda layer: peers.tf_keras_vis_gradcam(model, layer),
        "xplique": lambda layer: peers.xplique_gradcam(model, layer),
    }


def _several_passes(make, layers, images, class_lists, notes, label):
    """A candidate running one peer pass per (layer, classes) pair, or None."""
    try:
        runs = {layer: make(layer) for layer in dict.fromkeys(layers)}
    except peers.Unavailable as why:
        notes.append(f"{label}: not run: {why}")
        return None
    pairs = list(zip(layers, class_lists, strict=True))
    return lambda: [runs[layer](images, classes) for layer, classes in pairs]


def _table_with_target_check(title, section, candidates, ours, limit, settings) -> None:
    """The full table, then the target judged on `ours` timed against the forward pass
    alone: between rounds of seconds-long eager peers the machine drifts more, so the
    pair gets its own rounds (up to 11 in the same budget)."""
    timing = measure(candidates, settings)
    print(f"\n{title}, median of {timing.rounds} interleaved rounds")
    print(ratio_table(timing))
    pair = measure({FORWARD: candidates[FORWARD], ours: candidates[ours]}, settings)
    ratio = pair.ratios[ours]
    print(f"target check, {ours} and the forward pass alone, median of {pair.rounds} "
          f"interleaved rounds: {ratio:.2f}x (target <= {limit:g}x: "
          f"{'yes' if ratio <= limit else 'NO'})")
    record_ratios(section, pair, {ours: ours}, targets={ours: limit})
    record_ratios(section, timing, {name: name for name in timing.medians
                                    if name not in (FORWARD, ours)})


def top_k(model, forward, images, settings, notes) -> None:
    ranked = np.argsort(-model.predict_on_batch(images), axis=1)[:, :TOP_K].astype(np.int64)
    layer = STAGES[-1]
    ours = f"cam_widgets top_k={TOP_K}"
    candidates = {
        FORWARD: lambda: forward(images),
        ours: lambda: explain(model, images, layer=layer, top_k=TOP_K),
        f"cam_widgets, {TOP_K} calls": lambda: [
            explain(model, images, layer=layer, target=ranked[:, rank]) for rank in range(TOP_K)],
    }
    for label, make in _peer_factories(model).items():
        run = _several_passes(make, [layer] * TOP_K, images, list(ranked.T), notes, label)
        if run is not None:
            candidates[f"{label}, {TOP_K} passes"] = run
    _table_with_target_check(
        f"Top-{TOP_K} classes, layer {layer}, batch {len(images)}",
        f"Top-{TOP_K} Grad-CAM, resnet50, b={len(images)} (x compiled forward)",
        candidates, ours, TOP_K_TARGET, settings)


def layers(model, forward, images, settings, notes) -> None:
    classes = np.argmax(model.predict_on_batch(images), axis=1).astype(np.int64)
    ours = "cam_widgets 4 layers"
    candidates = {
        FORWARD: lambda: forward(images),
        ours: lambda: explain(model, images, layer=STAGES, target=classes),
        "cam_widgets, 4 calls": lambda: [
            explain(model, images, layer=layer, target=classes) for layer in STAGES],
    }
    for label, make in _peer_factories(model).items():
        run = _several_passes(make, STAGES, images, [classes] * len(STAGES), notes, label)
        if run is not None:
            candidates[f"{label}, 4 passes"] = run
    _table_with_target_check(
        f"Grad-CAM at the four stage outputs, batch {len(images)}",
        f"Grad-CAM at 4 stage outputs, resnet50, b={len(images)} (x compiled forward)",
        candidates, ours, STAGES_TARGET, settings)


def xla(model, forward, images, settings, notes) -> None:
    classes = np.argmax(model.predict_on_batch(images), axis=1).astype(np.int64)
    candidates = {FORWARD: lambda: forward(images)}
    for jit in (False, True):
        suffix = ", XLA" if jit else ""
        candidates[f"gradcam{suffix}"] = lambda jit=jit: explain(
            model, images, target=classes, jit_compile=jit)
        candidates[f"top_k={TOP_K}{suffix}"] = lambda jit=jit: explain(
            model, images, top_k=TOP_K, jit_compile=jit)
        candidates[f"4 layers{suffix}"] = lambda jit=jit: explain(
            model, images, layer=STAGES, target=classes, jit_compile=jit)
    timing = measure(candidates, settings)
    print(f"\nXLA on/off (jit_compile), batch {len(images)}, median of {timing.rounds} "
          "interleaved rounds (first calls, which compile, are not counted)")
    print(ratio_table(timing))
    record_ratios(f"XLA on/off, resnet50, b={len(images)} (x compiled forward)", timing,
                  {name: f"cam_widgets {name}" for name in timing.medians if name != FORWARD})


def main() -> None:
    args, settings = parse(__doc__.splitlines()[0], _arguments)
    parts = args.part.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s) {sorted(unknown)}; choose from {PARTS}")
    model = build_model("resnet50", settings.size)
    forward = compiled_forward(model)
    images = make_images(2 if settings.quick else args.batch, settings.size, seed=8)
    print(f"## One pass for many maps: ResNet50 (weights=None) {settings.size}x"
          f"{settings.size} ({machine()})")
    notes: list[str] = []
    for part in parts:
        {"top_k": top_k, "layers": layers, "xla": xla}[part](
            model, forward, images, settings, notes)
    for note in dict.fromkeys(notes):
        print(note)


if __name__ == "__main__":
    main()
