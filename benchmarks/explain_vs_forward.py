"""explain() against a compiled forward pass of the same batch (the limit to reach).

weights=None ResNet50 at 224x224, batch 8 by default. Run:
    python benchmarks/explain_vs_forward.py [--batch 8] [--rounds 7]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import interleaved_medians, table  # noqa: E402
from cam_widgets import explain  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    model = keras.applications.ResNet50(weights=None)
    images = np.random.default_rng(0).random((args.batch, 224, 224, 3), np.float32)
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    candidates = {
        "compiled forward": lambda: forward(images).numpy(),
        "gradcam": lambda: explain(model, images, method="gradcam"),
        "guided_backprop": lambda: explain(model, images, method="guided_backprop"),
        "saliency": lambda: explain(model, images, method="saliency"),
    }
    medians = interleaved_medians(candidates, rounds=args.rounds)
    base = medians["compiled forward"]
    rows = [(name, f"{seconds * 1000:.0f}", f"{seconds / base:.2f}x")
            for name, seconds in medians.items()]
    print(f"ResNet50 (weights=None) 224x224, batch {args.batch}, {args.rounds} rounds")
    print(table(rows, ("what", "median ms", "vs forward")))


if __name__ == "__main__":
    main()
