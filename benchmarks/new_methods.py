"""HiResCAM, XGrad-CAM, Eigen-CAM, Score-CAM, Integrated Gradients and Occlusion on
ResNet50 (weights=None) at 224x224, b=1 and b=8: ratios to a compiled forward pass,
side by side with the peers that have the method, in the same run.

- Score-CAM (max_channels=N, the N channels of largest variance) against its floor, a
  compiled forward pass over the same N x B masked copies in batches of 32 (target:
  <= 1.2x), and tf-keras-vis' Scorecam(max_N=N) on the same channels (target: >= 5x
  faster), both on the model's softmax output.
- Integrated Gradients (black baseline, `--steps` path points) against Xplique's, both
  on the logits (a linear twin of the last layer), points in batches of 32.
- Occlusion (`--window` px, non-overlapping, fill 0) against Xplique's, on the logits.
Run: python -m benchmarks.new_methods [--part cams,scorecam,ig,occlusion] [--batches 1,8]
     [--rounds 3] [--quick]
"""
from __future__ import annotations

import numpy as np

from benchmarks import peers
from benchmarks.common import (
    FORWARD, Settings, build_model, cam_layer, compiled_forward, logits_model, machine,
    make_images, measure, parse, predicted, ratio_table, record, record_ratios)
from cam_widgets import explain

SCORECAM_FLOOR_TARGET = 1.2
SCORECAM_PEER_SPEEDUP = 5.0


def _arguments(parser) -> None:
    parser.add_argument("--part", default="cams,scorecam,ig,occlusion")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--channels", type=int, default=32, help="Score-CAM max_channels")
    parser.add_argument("--steps", type=int, default=16, help="Integrated Gradients steps")
    parser.add_argument("--window", type=int, default=56, help="occlusion window (px)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per table")


def masked_copies(images: np.ndarray, n_channels: int, seed: int = 0) -> np.ndarray:
    """N x B images masked by smooth random masks: what Score-CAM sends to the model."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n_channels, len(images), 7, 7, 1)).astype(np.float32)
    height, width = images.shape[1:3]
    masks = coarse.repeat(-(-height // 7), 2).repeat(-(-width // 7), 3)[:, :, :height, :width]
    return (images[None] * masks).reshape(-1, *images.shape[1:])


def batched_forward(forward, copies: np.ndarray, chunk: int = 32):
    return lambda: [forward(copies[i:i + chunk]) for i in range(0, len(copies), chunk)]


def table(title: str, section: str, timing, names: dict[str, str], targets=None) -> None:
    print(f"\n{title}, median of {timing.rounds} interleaved rounds")
    print(ratio_table(timing, targets=targets))
    record_ratios(section, timing, names, targets=targets)


def main() -> None:
    args, settings = parse(__doc__.splitlines()[0], _arguments)
    parts = args.part.split(",")
    rounds = 1 if settings.quick else args.rounds
    settings = Settings(settings.quick, settings.size, 0.0, rounds, rounds)
    batches = [1, 2] if settings.quick else [int(b) for b in args.batches.split(",")]
    channels = 4 if settings.quick else args.channels
    steps = 4 if settings.quick else args.steps
    window = 32 if settings.quick else args.window
    model = build_model("resnet50", settings.size)
    layer = cam_layer("resnet50")
    logits = logits_model(model)
    forward = compiled_forward(model)
    size = settings.size
    print(f"## New methods vs peers: ResNet50 {size}x{size} ({machine()})")
    notes: list[str] = []
    for batch in batches:
        images = make_images(batch, size, seed=batch)
        targets = predicted(model, images)
        ours = lambda method, **options: (lambda: explain(  # noqa: E731
            model, images, method=method, target=targets, **options))
        base = {FORWARD: lambda: forward(images)}
        if "cams" in parts:
            candidates = {**base, **{f"cam_widgets {m}": ours(m, layer=layer)
                                     for m in ("gradcam", "hirescam", "xgradcam", "eigencam")}}
            timing = measure(candidates, settings)
            table(f"CAMs, batch {batch}", f"HiResCAM / XGrad-CAM / Eigen-CAM, resnet50, b={batch} "
                  "(x compiled forward)", timing,
                  {name: name for name in candidates if name != FORWARD})
        if "scorecam" in parts:
            ours_name, floor_name = f"cam_widgets scorecam N={channels}", "floor: forward of the masked copies"
            candidates = {**base,
                          ours_name: ours("scorecam", layer=layer, max_channels=channels),
                          floor_name: batched_forward(forward, masked_copies(images, channels))}
            peers.add_peer(candidates, notes, f"tf-keras-vis Scorecam max_N={channels}",
                           lambda: peers.tf_keras_vis_scorecam(model, layer, channels),
                           images, targets)
            timing = measure(candidates, settings)
            table(f"Score-CAM, {channels} channels, batch {batch}",
                  f"Score-CAM N={channels}, resnet50, b={batch} (x compiled forward)", timing,
                  {name: name for name in candidates if name != FORWARD})
            of_floor = timing.ratios[ours_name] / timing.ratios[floor_name]
            record(f"Score-CAM N={channels}, resnet50, b={batch} (x compiled forward)",
                   "cam_widgets / floor", f"{of_floor:.2f}x", f"<= {SCORECAM_FLOOR_TARGET}x",
                   "yes" if of_floor <= SCORECAM_FLOOR_TARGET else "NO")
            peer = f"tf-keras-vis Scorecam max_N={channels}"
            line = f"cam_widgets / floor {of_floor:.2f}x (target <= {SCORECAM_FLOOR_TARGET}x)"
            if peer in timing.ratios:
                speedup = timing.ratios[peer] / timing.ratios[ours_name]
                line += f"; {speedup:.1f}x faster than tf-keras-vis (target >= {SCORECAM_PEER_SPEEDUP}x)"
                record(f"Score-CAM N={channels}, resnet50, b={batch} (x compiled forward)",
                       "cam_widgets speed-up over tf-keras-vis", f"{speedup:.1f}x",
                       f">= {SCORECAM_PEER_SPEEDUP}x",
                       "yes" if speedup >= SCORECAM_PEER_SPEEDUP else "NO")
            print(line)
        if "ig" in parts:
            candidates = {**base, f"cam_widgets integrated_gradients steps={steps}": ours(
                "integrated_gradients", steps=steps)}
            peers.add_peer(candidates, notes, f"xplique IntegratedGradients steps={steps}",
                           lambda: peers.xplique_integrated_gradients(logits, steps),
                           images, targets)
            timing = measure(candidates, settings)
            table(f"Integrated Gradients, {steps} steps, black baseline, batch {batch}",
                  f"Integrated Gradients steps={steps}, resnet50, b={batch} (x compiled forward)",
                  timing, {name: name for name in candidates if name != FORWARD})
        if "occlusion" in parts:
            candidates = {**base, f"cam_widgets occlusion window={window}": ours(
                "occlusion", window=window, fill=0.0)}
            peers.add_peer(candidates, notes, f"xplique Occlusion patch={window}",
                           lambda: peers.xplique_occlusion(logits, window), images, targets)
            timing = measure(candidates, settings)
            table(f"Occlusion, {window} px windows, batch {batch}",
                  f"Occlusion window={window}, resnet50, b={batch} (x compiled forward)",
                  timing, {name: name for name in candidates if name != FORWARD})
    for note in sorted(set(notes)):
        print(note)


if __name__ == "__main__":
    main()
