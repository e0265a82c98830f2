"""Every method, vanilla and guided, on this backend: the result's shapes and types, finite
values, maps in [0, 1] scaled as documented, zero where the input has no influence, and
the user's model unchanged (weights, config, outputs, layer attributes)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import cam_widgets
from cam_widgets import explain
from tests.backends import cases
from tests.backends.helpers import fingerprint, layer_attributes

BORDER = 8  # the model crops this many pixels on each side: they cannot change the score
SMALL = cases.SMALL_OPTIONS


def cropped_cnn() -> keras.Model:
    """32 x 32 -> Cropping2D(8) -> Conv(relu) -> pool -> Conv(relu) -> GAP -> Dense(4)."""
    keras.utils.set_random_seed(20)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Cropping2D(BORDER, name="crop")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="head")(x))


@pytest.fixture(scope="module")
def models(saved):
    return {"cnn": cropped_cnn(), "tokens": saved("tokens")}


def table() -> list[tuple[str, bool]]:
    rows = []
    for method in cam_widgets.methods():
        rows.append((method.name, False))
        if method.guided_variant and not method.forces_guided:
            rows.append((method.name, True))
    return rows


@pytest.mark.parametrize("name, guided", table(),
                         ids=[f"{n}{'-guided' if g else ''}" for n, g in table()])
def test_invariants(name, guided, models):
    method = next(m for m in cam_widgets.methods() if m.name == name)
    model = models[cases.METHOD_MODEL.get(name, "cnn")]
    images = np.random.default_rng(5).random((3, 32, 32, 3), np.float32)
    # predict leaves its own function on the model: call it before the snapshot
    predicted = np.argmax(model.predict(images, verbose=0), axis=1)
    before, attributes = fingerprint(model, images), layer_attributes(model)

    res = explain(model, images, method=name, guided=guided, **SMALL.get(name, {}))

    assert res.method == name
    assert res.maps.dtype == np.float32 and res.maps.shape == (3, 32, 32)
    assert res.targets.dtype == np.int64 and res.targets.shape == (3,)
    assert res.scores.dtype == np.float32 and res.scores.shape == (3,)
    assert res.raw.dtype == np.float32 and res.raw.shape[0] == 3
    assert np.isfinite(res.maps).all() and np.isfinite(res.raw).all()
    assert np.isfinite(res.scores).all()
    assert res.maps.min() >= 0.0 and res.maps.max() <= 1.0
    assert (res.layer is None) is (not method.uses_layer)
    if method.class_specific:  # (predict leaves its own function on the model)
        np.testing.assert_array_equal(res.targets, predicted)
    assert res.signed is method.signed_map(guided)
    peaks = np.abs(res.maps - 0.5).max(axis=(1, 2)) if res.signed else res.maps.max(axis=(1, 2))
    np.testing.assert_allclose(peaks, 0.5 if res.signed else 1.0, atol=1e-5)
    if not method.uses_layer or method.forces_guided:  # maps made from input pixels
        border = np.ones((32, 32), bool)
        border[BORDER:-BORDER, BORDER:-BORDER] = False
        if model is models["cnn"]:
            zero = 0.5 if res.signed else 0.0  # signed maps put zero at mid-scale
            np.testing.assert_allclose(res.maps[:, border], zero, atol=1e-3)
            assert np.abs(res.maps[:, ~border] - zero).max() > 0.1
    assert fingerprint(model, images) == before
    assert layer_attributes(model) == attributes


@pytest.mark.parametrize("name", [m.name for m in cam_widgets.methods() if not m.guided_variant])
def test_methods_without_a_guided_variant_refuse_guided(name, models):
    model = models[cases.METHOD_MODEL.get(name, "cnn")]
    with pytest.raises(ValueError, match=name):
        explain(model, np.zeros((1, 32, 32, 3), np.float32), method=name, guided=True)
