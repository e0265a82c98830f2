"""Checks shared by the backend suite: the model fingerprint and how close two results
must be to count as equal across backends."""
from __future__ import annotations

import hashlib
import json

import keras
import numpy as np


def fingerprint(model: keras.Model, probe_images) -> tuple[str, str, bytes]:
    """(weights hash, config, outputs on `probe_images`), as tests/conftest.py's, with
    outputs read through keras.ops so that it works on every backend."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    config = json.dumps(model.get_config(), sort_keys=True, default=str)
    outputs = keras.tree.flatten(model.predict_on_batch(probe_images))  # numpy on every backend
    return digest.hexdigest(), config, b"".join(np.asarray(o).tobytes() for o in outputs)


def layer_attributes(model: keras.Model) -> dict[str, set[str]]:
    """{layer path: its attribute names}, nested models included: an explain must not
    leave an attribute (a patched activation, a guided flag) on any layer."""
    found = {}

    def walk(layer, prefix):
        found[prefix + layer.name] = set(vars(layer))
        for inner in getattr(layer, "layers", []):
            walk(inner, prefix + layer.name + "/")

    walk(model, "")
    return found


def pearson(first: np.ndarray, second: np.ndarray) -> float:
    """Correlation of two maps (1.0 when both are the same constant)."""
    first, second = (np.asarray(a, np.float64).ravel() for a in (first, second))
    if first.std() == 0 or second.std() == 0:
        return 1.0 if np.allclose(first, second, atol=1e-3) else 0.0
    return float(np.corrcoef(first, second)[0, 1])


def assert_close_to_reference(got: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                              what: str) -> None:
    """raw within 1e-3 of its largest |value|, each map correlated >= 0.999 with the
    reference's, targets equal, scores within 1e-3 relative."""
    assert sorted(got) == sorted(expected), f"{what}: fields {sorted(got)} != {sorted(expected)}"
    for key, reference in expected.items():
        value = got[key]
        assert value.shape == reference.shape, f"{what}: {key} {value.shape} != {reference.shape}"
        if key == "targets":
            np.testing.assert_array_equal(value, reference, err_msg=f"{what}: targets")
        elif key == "scores":
            np.testing.assert_allclose(value, reference, rtol=1e-3, atol=1e-6,
                                       err_msg=f"{what}: scores")
        elif key.startswith("raw"):
            peak = float(np.abs(reference).max())
            error = float(np.abs(value - reference).max())
            assert error <= 1e-3 * peak + 1e-7, (
                f"{what}: {key} differs by {error:.3g}, more than 1e-3 of its peak {peak:.3g}")
        else:  # maps, one correlation per map (per image, class or layer)
            flat_got = value.reshape(-1, *value.shape[-2:])
            flat_ref = reference.reshape(-1, *reference.shape[-2:])
            for index, (mine, theirs) in enumerate(zip(flat_got, flat_ref)):
                r = pearson(mine, theirs)
                assert r >= 0.999, f"{what}: map {index} correlates {r:.5f} with TensorFlow's"
