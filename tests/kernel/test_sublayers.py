"""Layers inside custom layers: listed, explained by path, and the model untouched
(also when the trace fails, and for a plain call from another thread meanwhile)."""
from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain, list_layers
from cam_widgets.kernel.sublayers import intercept
from tests.helpers import fingerprint
from tests.kernel import reference


class Block(keras.layers.Layer):
    def __init__(self, filters: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(filters, 3, padding="same", name="conv")
        self.act = keras.layers.ReLU(name="act")

    def call(self, x):
        return self.act(self.conv(x))


class Encoder(keras.layers.Layer):
    """Two blocks kept in a list, as keras-hub keeps its transformer blocks."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stages = [Block(4, name="block_0"), Block(6, name="block_1")]

    def call(self, x):
        for stage in self.stages:
            x = stage(x)
        return x


@pytest.fixture(scope="module")
def custom():
    keras.utils.set_random_seed(3)
    encoder = Encoder(name="encoder")
    head = keras.layers.Dense(3, name="head")
    inputs = keras.Input((8, 8, 2))
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(encoder(inputs))
    model = keras.Model(inputs, head(pooled), name="custom")
    return model, encoder, head


X = np.random.default_rng(0).normal(size=(3, 8, 8, 2)).astype(np.float32)


def _state(layers):
    return [sorted(vars(layer)) for layer in layers]


def _all_sublayers(encoder):
    return [encoder, *encoder.stages, *(s.conv for s in encoder.stages),
            *(s.act for s in encoder.stages)]


def test_list_layers_shows_sublayers_with_output_shapes(custom):
    model, _, _ = custom
    infos = {info.path: info for info in list_layers(model)}
    assert infos["encoder/block_0/conv"].output_shape == (None, 8, 8, 4)
    assert infos["encoder/block_1/act"].output_shape == (None, 8, 8, 6)
    assert infos["encoder/block_1"].class_name == "Block" and infos["encoder/block_1"].spatial
    paths = list(infos)
    # in the order they finish: inner layers, then their block, then the host
    assert paths.index("encoder/block_0/act") < paths.index("encoder/block_0") < paths.index(
        "encoder/block_1/conv") < paths.index("encoder")


def test_gradcam_on_a_sublayer_equals_a_split_reference(custom):
    model, encoder, head = custom
    res = explain(model, X, layer="encoder/block_0/conv", target=1)
    first, second = encoder.stages

    def features(batch):
        return first.conv(batch)

    def rest(acts):
        return head(keras.layers.GlobalAveragePooling2D()(second(first.act(acts))))

    expected = reference.gradcam(features, rest, X, reference.class_score(1))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)
    assert res.activations.shape == (3, 8, 8, 4)


def test_model_unchanged_after_explaining_a_sublayer_and_after_a_failed_trace(custom):
    model, encoder, _ = custom
    before, attributes = fingerprint(model, X), _state(_all_sublayers(encoder))
    explain(model, X, layer="encoder/block_1/conv")

    def broken(outputs):
        raise RuntimeError("target failed mid-trace")

    with pytest.raises(RuntimeError, match="mid-trace"):
        explain(model, X, layer="encoder/block_0/act", target=broken)
    assert fingerprint(model, X) == before
    assert _state(_all_sublayers(encoder)) == attributes
    assert all("call" not in vars(layer) for layer in _all_sublayers(encoder))


def test_interception_is_invisible_to_other_threads(custom):
    model, encoder, _ = custom
    plain = model(X).numpy()
    seen = {}

    def other_thread():
        seen["other"] = model(X).numpy()

    zero = lambda call, args, kwargs: tf.zeros_like(call(*args, **kwargs))  # noqa: E731
    with intercept({encoder.stages[1].conv: zero}):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        seen["mine"] = model(X).numpy()
    np.testing.assert_array_equal(seen["other"], plain)
    assert not np.allclose(seen["mine"], plain)  # the hook did act in this thread
    np.testing.assert_array_equal(model(X).numpy(), plain)
    assert "call" not in vars(encoder.stages[1].conv)


def test_explain_while_another_thread_calls_the_model(custom):
    model, _, _ = custom
    plain = model(X).numpy()
    stop, outputs = threading.Event(), []

    def loop():
        while not stop.is_set():
            outputs.append(model(X).numpy())

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        explain(model, X, layer="encoder/block_1/act", target=0)  # traced here
    finally:
        stop.set()
        thread.join()
    assert outputs and all(np.array_equal(out, plain) for out in outputs)
