"""Guided ReLU without touching the model: against a guided twin built in the test."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain
from tests.helpers import fingerprint
from tests.kernel.zoo import zoo_model
from tests.kernel.helpers import small_cnn, split_relu


def guided_relu(max_value: float | None = None):
    """A ReLU (or ReLU6) whose gradient follows Springenberg et al. 2015, for the twin."""

    @tf.custom_gradient
    def activation(x):
        top = np.inf if max_value is None else max_value
        def grad(dy):
            keep = (dy > 0) & (x > 0) & (x < top)
            return tf.where(keep, dy, tf.zeros_like(dy))
        return tf.clip_by_value(x, 0.0, top), grad

    return activation


def guided_twin(model: keras.Model) -> keras.Model:
    """A copy of `model` with every ReLU replaced by a guided one (the test's reference)."""

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.ReLU):
            return keras.layers.Activation(guided_relu(config["max_value"]), name=layer.name)
        name = getattr(getattr(layer, "activation", None), "__name__", "")
        if name in ("relu", "relu6"):
            config["activation"] = guided_relu(6.0 if name == "relu6" else None)
        return type(layer).from_config(config)

    twin = keras.models.clone_model(model, clone_function=clone, recursive=True)
    twin.set_weights(model.get_weights())
    return twin


def nested_vgg():
    inputs = keras.Input((32, 32, 3))
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(vgg(inputs))
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(pooled))


CASES = {
    "resnet50 (Activation layers)": (lambda: zoo_model("resnet50"), 49),
    "vgg16 (fused)": (lambda: zoo_model("vgg16"), 15),
    "mobilenetv2 (ReLU6 layers)": (lambda: zoo_model("mobilenetv2"), 35),
    "nested vgg16": (nested_vgg, 13),
}


@pytest.mark.slow
@pytest.mark.zoo
@pytest.mark.parametrize("name", list(CASES))
def test_guided_backprop_equals_guided_twin(name):
    build, n_guided = CASES[name]
    model = build()
    size = model.inputs[0].shape[1]
    images = np.random.default_rng(0).random((2, size, size, 3), np.float32)
    before = fingerprint(model, images)
    vanilla = explain(model, images, method="saliency", target=1, logits=False)
    guided = explain(model, images, method="guided_backprop", target=1, logits=False)

    x = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = guided_twin(model)(x, training=False)[:, 1]
    expected = tape.gradient(score, x).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(guided.raw / scale, expected / scale, atol=1e-4)
    assert np.abs(guided.raw - vanilla.raw).max() > 0.05 * scale
    assert len(guided.guided_coverage.guided) == n_guided
    assert guided.guided_coverage.vanilla == ()
    assert fingerprint(model, images) == before
    again = explain(model, images, method="saliency", target=1, logits=False)
    np.testing.assert_array_equal(again.raw, vanilla.raw)


def test_relu_variants_by_hand():
    # ReLU(max_value=1), ReLU(threshold=0.5), ReLU(negative_slope=0.1), each followed by a
    # sum with weight +1 for the first two pixels and -1 for the last two.
    x = np.array([-1.0, 0.3, 0.7, 2.0], np.float32).reshape(1, 1, 4, 1)
    weights = np.array([[1.0], [1.0], [-1.0], [1.0]], np.float32)
    expected = {
        # vanilla d relu: slope in (0, max) or above threshold; guided also needs y > 0 and g > 0
        "max_value": ([0, 1, -1, 0], [0, 1, 0, 0]),
        "threshold": ([0, 0, -1, 1], [0, 0, 0, 1]),
        "negative_slope": ([0.1, 1, -1, 1], [0, 1, 0, 1]),
    }
    relus = {"max_value": keras.layers.ReLU(max_value=1.0),
             "threshold": keras.layers.ReLU(threshold=0.5),
             "negative_slope": keras.layers.ReLU(negative_slope=0.1)}
    for name, relu in relus.items():
        inputs = keras.Input((1, 4, 1))
        flat = keras.layers.Flatten()(relu(inputs))
        model = keras.Model(inputs, keras.layers.Dense(1, use_bias=False, name="sum")(flat))
        model.get_layer("sum").set_weights([weights])
        vanilla = explain(model, x, method="saliency", target=0)
        guided = explain(model, x, method="guided_backprop", target=0)
        np.testing.assert_allclose(vanilla.raw[0, 0, :, 0], expected[name][0], err_msg=name)
        np.testing.assert_allclose(guided.raw[0, 0, :, 0], expected[name][1], err_msg=name)


def leaky_lambda_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="fused")(inputs)
    x = keras.layers.LeakyReLU(name="leaky")(keras.layers.Conv2D(4, 3, name="c2")(x))
    x = keras.layers.Lambda(tf.nn.relu, name="hidden_relu")(keras.layers.Conv2D(4, 1, name="c3")(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def test_coverage_names_what_stayed_vanilla_and_warns():
    model = leaky_lambda_model()
    images = np.random.default_rng(1).random((1, 8, 8, 3), np.float32)
    with pytest.warns(UserWarning, match=r"partly vanilla(.|\n)*leaky(.|\n)*hidden_relu"):
        res = explain(model, images, method="guided_backprop")
    assert res.guided_coverage.guided == ("fused",)
    vanilla = dict(res.guided_coverage.vanilla)
    assert set(vanilla) == {"leaky", "hidden_relu"}
    assert "LeakyReLU is not a ReLU" in vanilla["leaky"]
    assert "Lambda" in vanilla["hidden_relu"]


def test_no_warning_when_every_relu_is_guided(recwarn):
    explain(split_relu(), np.ones((1, 2, 2, 1), np.float32), method="guided_backprop")
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_guided_follows_weight_changes():
    model = split_relu()
    image = np.array([[1.0, -1.0], [2.0, -3.0]], np.float32).reshape(1, 2, 2, 1)
    first = explain(model, image, method="guided_backprop", target=0)
    model.get_layer("head").set_weights([np.array([[-1.0], [1.0]]), np.zeros(1)])
    second = explain(model, image, method="guided_backprop", target=0)
    np.testing.assert_allclose(first.raw[0, ..., 0], [[0.25, 0], [0.25, 0]])
    # now the first channel's gradient is negative and the second's positive: the
    # negative pixels pass, with d relu(-x)/dx = -1 -> -0.25
    np.testing.assert_allclose(second.raw[0, ..., 0], [[0, -0.25], [0, -0.25]])


def test_guided_gradcam_is_guided_backprop_times_gradcam():
    model = small_cnn()
    images = np.random.default_rng(2).random((2, 28, 28, 1), np.float32)
    cam = explain(model, images, method="gradcam", layer="conv2", target=3)
    backprop = explain(model, images, method="guided_backprop", target=3)
    combined = explain(model, images, method="guided_gradcam", layer="conv2", target=3)
    np.testing.assert_allclose(combined.raw, backprop.raw * cam.maps[..., None], rtol=1e-5, atol=1e-8)
    switched = explain(model, images, method="gradcam", layer="conv2", target=3, guided=True)
    np.testing.assert_array_equal(switched.raw, combined.raw)


def test_guided_gradcam_from_cached_activations_equals_full():
    model = small_cnn()
    images = np.random.default_rng(3).random((2, 28, 28, 1), np.float32)
    first = explain(model, images, method="gradcam", layer="conv2", target=1)
    full = explain(model, images, method="guided_gradcam", layer="conv2", target=4)
    head = explain(model, images, method="guided_gradcam", layer="conv2", target=4,
                   activations=first.activations)
    np.testing.assert_allclose(head.raw, full.raw, rtol=1e-5, atol=1e-8)
    top = explain(model, images, method="guided_gradcam", layer="conv2", top_k=2)
    again = explain(model, images, method="guided_gradcam", layer="conv2", target=top.targets[:, 1])
    np.testing.assert_allclose(top.maps[:, 1], again.maps, atol=1e-5)
