"""Shared fixtures: tiny models with known weights, and the model fingerprint."""
from __future__ import annotations

import hashlib
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def fingerprint(model: keras.Model, probe_images) -> tuple[str, str, bytes]:
    """(weights hash, config, outputs on `probe_images`): all must survive an explain."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    config = json.dumps(model.get_config(), sort_keys=True, default=str)
    outputs = keras.tree.flatten(model(probe_images, training=False))
    return digest.hexdigest(), config, b"".join(
        keras.ops.convert_to_numpy(o).tobytes() for o in outputs)


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)
