"""A Keras backend outside the three gets a clear error naming the three."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import numpy as np, keras
from cam_widgets import explain
inputs = keras.Input((8, 8, 3))
x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
explain(model, np.zeros((1, 8, 8, 3), np.float32))
"""


def test_the_numpy_backend_is_refused_by_name(backend):
    if backend != "tensorflow":
        pytest.skip("run once, from the TensorFlow process")
    env = {**os.environ, "KERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "numpy" in last and all(name in last for name in ("tensorflow", "jax", "torch")), last
