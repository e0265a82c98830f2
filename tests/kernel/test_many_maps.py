"""One pass for many maps: several layers, or the k best classes, equal per-call results."""
from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import explain
from tests.kernel.helpers import siamese, small_cnn

IMAGES = np.random.default_rng(11).random((3, 28, 28, 1), np.float32)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam", "guided_gradcam"])
def test_several_layers_equal_one_call_per_layer(method):
    model = small_cnn()
    many = explain(model, IMAGES, method=method, layer=["conv1", "conv2"], target=[1, 2, 3])
    assert many.layer == ["conv1", "conv2"]
    assert many.maps.shape == (3, 2, 28, 28)
    for slot, path in enumerate(many.layer):
        one = explain(model, IMAGES, method=method, layer=path, target=[1, 2, 3])
        np.testing.assert_allclose(many.maps[:, slot], one.maps, atol=1e-6)
        np.testing.assert_allclose(many.raw[slot], one.raw, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(many.activations[slot], one.activations, rtol=1e-6)


def test_all_layers_lists_every_spatial_layer_in_order():
    model = small_cnn()
    res = explain(model, IMAGES, layer="all")
    assert res.layer == ["conv1", "pool", "conv2"]
    assert res.maps.shape == (3, len(res.layer), 28, 28)


def test_all_layers_of_one_siamese_branch():
    model = siamese()
    pair = [np.random.default_rng(i).random((1, 16, 16, 3), np.float32) for i in (0, 1)]
    res = explain(model, pair, layer="all", input_index=1, target=lambda out: out[:, 0])
    assert res.layer == ["encoder/conv", "encoder/bn", "encoder/relu", "join", "mix"]


@pytest.mark.parametrize("method", ["gradcam", "layercam", "saliency"])
def test_top_k_equals_one_call_per_class(method):
    model = small_cnn()
    res = explain(model, IMAGES, method=method, top_k=3, layer=None if method == "saliency" else "conv2")
    order = np.argsort(-res.predictions, axis=1)[:, :3]
    np.testing.assert_array_equal(res.targets, order)
    assert res.maps.shape == (3, 3, 28, 28) and res.scores.shape == (3, 3)
    for rank in range(3):
        one = explain(model, IMAGES, method=method, target=order[:, rank],
                      layer=None if method == "saliency" else "conv2")
        np.testing.assert_allclose(res.maps[:, rank], one.maps, atol=1e-5)
        np.testing.assert_allclose(res.scores[:, rank], one.scores, rtol=1e-5)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(top_k=11), r"1 <= top_k <= classes \(10\)"),
    (dict(top_k=2, target=1), "without `target`"),
    (dict(top_k=2, layer=["conv1", "conv2"]), "without `target`, a list of layers"),
    (dict(layer=[]), "list of layers is empty"),
    (dict(layer="everything"), r"No layer 'everything'"),
    (dict(layer=["conv1", "conv2"], activations=np.zeros((3, 26, 26, 8))), "one layer at a time"),
])
def test_many_maps_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        explain(small_cnn(), IMAGES, **kwargs)


def test_jit_compile_gives_the_same_maps():
    model = small_cnn()
    plain = explain(model, IMAGES, layer="conv2")
    xla = explain(model, IMAGES, layer="conv2", jit_compile=True)
    np.testing.assert_allclose(xla.maps, plain.maps, atol=1e-4)


def test_a_layer_before_the_first_weight_gets_its_gradient():
    # ZeroPadding2D comes before any variable: the tape must still record it
    import keras

    inputs = keras.Input((8, 8, 1))
    padded = keras.layers.ZeroPadding2D(1, name="pad")(inputs)
    conv = keras.layers.Conv2D(2, 3, name="conv")(padded)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(conv)))
    res = explain(model, np.ones((1, 8, 8, 1), np.float32), layer="all", target=0)
    assert res.layer == ["pad", "conv"]
    assert np.isfinite(res.maps).all()
