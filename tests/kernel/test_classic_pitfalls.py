"""The classic Grad-CAM pitfalls users hit (argmax in the tape, layers of a rebuilt or
nested backbone, a siamese pair, saturated softmax, tf.data batches), each against an
independent computation."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain, explain_dataset
from cam_widgets.kernel.explain import compiled_functions
from tests.kernel import reference as ref
from tests.kernel.helpers import siamese, small_cnn

RNG = np.random.default_rng(0)


# 1. tf.argmax inside the tape --------------------------------------------------------
def test_argmax_in_the_tape_gives_none_and_explain_picks_the_class_outside():
    model = small_cnn()
    images = RNG.random((4, 28, 28, 1), np.float32)
    x = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        wrong = tf.cast(tf.argmax(model(x), axis=1), tf.float32)
    assert tape.gradient(wrong, x) is None  # the bug users hit

    res = explain(model, images, method="gradcam", layer="conv2", logits=False)
    predicted = np.argmax(model.predict(images, verbose=0), axis=1)
    np.testing.assert_array_equal(res.targets, predicted)
    features = keras.Model(model.inputs[0], model.get_layer("conv2").output)
    head = lambda a: model.get_layer("predictions")(  # noqa: E731
        model.layers[-2](a))
    expected = ref.gradcam(features, head, images, ref.class_score(predicted))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)


# 2. a Sequential built from another model's layers -------------------------------------
@pytest.fixture(scope="module")
def vgg16():
    return keras.applications.VGG16(include_top=False, weights=None,
                                    input_shape=(32, 32, 3), pooling="max")


def test_sequential_from_vgg_layers_by_name(vgg16):
    model = keras.Sequential(vgg16.layers + [keras.layers.Dense(5, name="head")])
    images = RNG.random((2, 32, 32, 3), np.float32)
    broken = keras.Model(model.inputs, [vgg16.get_layer("block5_conv3").output, model.outputs[0]])
    with tf.GradientTape() as tape:
        conv, preds = broken([images])
        score = preds[:, 0]
    assert tape.gradient(score, conv) is None  # the trap of the old recipe

    res = explain(model, images, layer="block5_conv3", target=[1, 3])
    before, after = ref.split_at(model.layers, "block5_conv3")
    expected = ref.gradcam(lambda x: ref.run_layers(before, x),
                           lambda a: ref.run_layers(after, a), images, ref.class_score([1, 3]))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)
    assert res.layer == "block5_conv3"
    assert res.raw.shape == (2, 2, 2)


# 3. the same backbone nested as one layer ----------------------------------------------
def test_nested_vgg_by_path(vgg16):
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(5, name="head")(vgg16(inputs))
    model = keras.Model(inputs, outputs)
    images = RNG.random((2, 32, 32, 3), np.float32)
    with pytest.raises(ValueError):
        model.get_layer("block5_conv3")  # "No such layer": the nested layer is hidden
    with pytest.raises(ValueError, match="not connected"):
        keras.Model(inputs, vgg16.get_layer("block5_conv3").output)

    res = explain(model, images, layer="vgg16/block5_conv3", target=2)
    before, after = ref.split_at(vgg16.layers, "block5_conv3")
    head = model.get_layer("head")
    expected = ref.gradcam(lambda x: ref.run_layers(before, x),
                           lambda a: head(ref.run_layers(after, a)), images, ref.class_score(2))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)
    assert res.layer == "vgg16/block5_conv3"
    # the bare name resolves to the one path that ends with it
    bare = explain(model, images, layer="block5_conv3", target=2)
    np.testing.assert_array_equal(bare.maps, res.maps)


# 4. a siamese pair through a shared encoder --------------------------------------------
def test_siamese_explains_each_input_through_its_branch():
    model = siamese()
    pair = [RNG.random((2, 16, 16, 3), np.float32) for _ in range(2)]
    similarity = lambda logits: logits[:, 0]  # noqa: E731  (pre-sigmoid, logits=True)
    encoder = model.get_layer("encoder")
    mix, gap, dense = (model.get_layer(n) for n in ("mix", "gap", "similarity"))

    def head(features, other, index):
        pair_features = [features, other] if index == 0 else [other, features]
        pooled = gap(mix(tf.concat(pair_features, axis=-1)))
        return tf.matmul(pooled, dense.kernel) + dense.bias  # the logit, by hand

    for index in (0, 1):
        res = explain(model, pair, target=similarity, input_index=index)
        assert res.layer == "encoder/relu"
        other = encoder(pair[1 - index], training=False)
        expected = ref.gradcam(lambda x: encoder(x, training=False),
                               lambda a: head(a, other, index), pair[index], similarity)
        np.testing.assert_allclose(res.maps, expected, atol=1e-5)
        assert res.targets.tolist() == [-1, -1]
    maps = [explain(model, pair, target=similarity, input_index=i).maps for i in (0, 1)]
    assert np.abs(maps[0] - maps[1]).max() > 0.1  # the two branches differ, as they must


# 5. softmax saturation: saliency on logits ---------------------------------------------
def test_saliency_on_logits_not_probabilities():
    model = small_cnn()
    images = RNG.random((3, 28, 28, 1), np.float32) * 50  # large inputs saturate softmax
    dense = model.get_layer("predictions")
    body = keras.Model(model.inputs[0], dense.input)
    logit = lambda x: tf.matmul(body(x), dense.kernel) + dense.bias  # noqa: E731
    target = [0, 1, 2]
    on_logits = explain(model, images, method="saliency", target=target)
    on_probs = explain(model, images, method="saliency", target=target, logits=False)
    np.testing.assert_allclose(on_logits.raw, ref.input_gradient(logit, images, ref.class_score(target)),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(on_probs.raw, ref.input_gradient(model, images, ref.class_score(target)),
                               rtol=1e-3, atol=1e-9)
    assert not np.allclose(on_logits.maps, on_probs.maps, atol=1e-2)


def test_separate_softmax_layer_is_skipped_for_logits():
    inputs = keras.Input((28, 28, 1))
    logits = small_cnn(activation=None)(inputs)
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    images = RNG.random((2, 28, 28, 1), np.float32)
    res = explain(model, images, method="saliency", target=4)
    np.testing.assert_allclose(res.scores, model.layers[1](images).numpy()[:, 4], rtol=1e-5)


# 6. tf.data batches: a fresh map per batch, one compiled function ----------------------
def test_dataset_batches_one_trace_fresh_maps():
    model = small_cnn()
    images = RNG.random((7, 28, 28, 1), np.float32)
    labels = np.array([0, 1, 2, 3, 4, 5, 6])
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(3)
    results = list(explain_dataset(model, dataset, layer="conv2", target="label"))
    assert [r.maps.shape[0] for r in results] == [3, 3, 1]
    features = keras.Model(model.inputs[0], model.get_layer("conv2").output)
    dense = model.get_layer("predictions")
    head_logits = lambda a: tf.matmul(model.layers[-2](a), dense.kernel) + dense.bias  # noqa: E731
    for start, res in zip((0, 3, 6), results):
        batch = slice(start, start + 3)
        np.testing.assert_array_equal(res.targets, labels[batch])
        expected = ref.gradcam(features, head_logits, images[batch], ref.class_score(labels[batch]))
        np.testing.assert_allclose(res.maps, expected, atol=1e-5)
    assert not np.allclose(results[0].maps[0], results[1].maps[0])
    functions = list(compiled_functions(model).values())
    assert len(functions) == 1
    assert functions[0].experimental_get_tracing_count() == 1
