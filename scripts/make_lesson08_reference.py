"""Compute lesson 08's reference maps on the TensorFlow backend.

Lesson 08 explains the shipped shapes model on JAX and checks its maps against these,
made by TensorFlow from the same model file and the same pictures. Run from the
repository root with the package importable (``pip install -e .`` or ``PYTHONPATH=.``):
    python scripts/make_lesson08_reference.py
It writes ``notebooks/data/08_tensorflow_maps.npz`` (about 250 KB): for each method,
the maps (N, 64, 64) and the scores (N,), Grad-CAM's raw map at ``last_conv`` (N, 16, 16),
the pictures' labels (to check the lesson regenerates the same pictures) and the versions.
"""
from __future__ import annotations

import os

# This script is the TensorFlow side of the comparison, whatever the shell says.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cam_widgets import explain  # noqa: E402
from cam_widgets.datasets import make_shapes, shapes_model  # noqa: E402

OUT_PATH = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "08_tensorflow_maps.npz"
N_IMAGES, SEED = 4, 2  # seed 2: held-out pictures, as in the other lessons
METHODS = {"gradcam": {}, "saliency": {}, "guided_backprop": {},
           "smoothgrad": {"n_samples": 8, "seed": 0}}


def main() -> None:
    model = shapes_model()
    held_out = make_shapes(N_IMAGES, seed=SEED)
    arrays: dict[str, np.ndarray] = {
        "labels": held_out.labels,
        "versions": np.array(f"tensorflow {tf.__version__}, keras {keras.__version__}"),
    }
    for method, options in METHODS.items():
        result = explain(model, held_out.images, method=method, target=held_out.labels,
                         **options)
        arrays[f"{method}_maps"] = result.maps
        arrays[f"{method}_scores"] = result.scores
        if method == "gradcam":
            arrays["gradcam_raw"] = result.raw
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT_PATH, **arrays)
    print(f"wrote {OUT_PATH} ({OUT_PATH.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
