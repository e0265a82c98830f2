"""Vision transformer: each method's time as a ratio to a compiled forward pass.

A keras-hub ViTImageClassifier with random weights (nothing downloaded), ViT-S/16 shape
by default (224x224, 12 blocks of width 384, 6 heads, class-token head), batch 8. Grad-CAM
and its variants read the default token layer (the last block's first normalisation,
inside the keras-hub encoder); attention rollout reads every MultiHeadAttention.
Candidates are timed round-robin in one process.
Run: python -m benchmarks.vit_methods [--config s16|b16|ti16] [--batch 8] [--quick]
"""
from __future__ import annotations

import keras
import keras_hub

from benchmarks.common import (
    FORWARD, compiled_forward, machine, make_images, measure, parse, predicted, ratio_table,
    record_ratios)
from cam_widgets import explain

# name -> (blocks, width, heads, MLP width), patch 16
CONFIGS = {
    "ti16": (12, 192, 3, 768),
    "s16": (12, 384, 6, 1536),
    "b16": (12, 768, 12, 3072),
}
METHODS = ("gradcam", "gradcam++", "layercam", "attention_rollout", "saliency")


def _arguments(parser) -> None:
    parser.add_argument("--config", default="s16", choices=list(CONFIGS))
    parser.add_argument("--batch", type=int, default=8)


def build_vit(config: str, size: int, seed: int = 0) -> keras.Model:
    """A keras-hub ViT classifier (1000 classes) with random weights."""
    keras.utils.set_random_seed(seed)
    blocks, width, heads, mlp = CONFIGS[config]
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(size, size, 3), patch_size=16, num_layers=blocks, num_heads=heads,
        hidden_dim=width, mlp_dim=mlp, use_class_token=True)
    return keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=1000,
                                               preprocessor=None)


def main() -> None:
    args, settings = parse(__doc__, _arguments)
    # --quick: a 2-block model on 64x64 images, only to check that everything runs
    config = "quick" if settings.quick else args.config
    model = _small(settings.size) if settings.quick else build_vit(config, settings.size)
    images = make_images(args.batch, settings.size, seed=3)
    targets = predicted(model, images)
    forward = compiled_forward(model)
    candidates = {FORWARD: lambda: forward(images)}
    for method in METHODS:
        target = None if method == "attention_rollout" else targets
        candidates[f"cam_widgets {method}"] = (
            lambda method=method, target=target: explain(model, images, method=method,
                                                         target=target))
    layer = explain(model, images[:1]).layer
    timing = measure(candidates, settings)
    print(f"ViT-{config.upper()} (keras-hub, random weights) {settings.size}x{settings.size}, "
          f"batch {args.batch}, median of {timing.rounds} interleaved rounds; {machine()}")
    print(f"Grad-CAM family read {layer!r}")
    print(ratio_table(timing))
    record_ratios(f"ViT-{config.upper()}, b={args.batch} (x compiled forward)", timing,
                  {f"cam_widgets {m}": f"cam_widgets {m}" for m in METHODS})


def _small(size: int) -> keras.Model:
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(size, size, 3), patch_size=16, num_layers=2, num_heads=2,
        hidden_dim=32, mlp_dim=64, use_class_token=True)
    return keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=10,
                                               preprocessor=None)


if __name__ == "__main__":
    main()
