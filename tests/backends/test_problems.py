"""The six problems of DEVELOPERS.md, on this backend: the class chosen outside the
differentiated path, nested models and Sequentials of borrowed layers, guided ReLUs,
siamese branches, logits under a softmax, and data sets of batches."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from cam_widgets import explain, explain_dataset
from tests.backends import cases
from tests.backends.helpers import fingerprint, layer_attributes

RNG = np.random.default_rng(7)
IMAGES = RNG.random((3, 32, 32, 3), np.float32)


def head_logits(model: keras.Model, images: np.ndarray, pooled: str = "gap",
                head: str = "head") -> np.ndarray:
    """The pre-activation output, computed in numpy from the pooled features and the
    head's kernel and bias (no gradients, nothing from the kernel under test)."""
    features = keras.Model(model.inputs, model.get_layer(pooled).output).predict(images, verbose=0)
    kernel, bias = model.get_layer(head).get_weights()
    return features @ kernel + bias


# 1. the class is chosen outside the differentiated path ------------------------------
def test_the_predicted_class_is_explained_with_its_logit(saved):
    model = saved("cnn")
    predicted = np.argmax(model.predict(IMAGES, verbose=0), axis=1)
    logits = head_logits(model, IMAGES)
    res = explain(model, IMAGES, method="saliency")
    np.testing.assert_array_equal(res.targets, predicted)
    np.testing.assert_allclose(res.scores, logits[np.arange(3), predicted], rtol=1e-4, atol=1e-5)
    assert (np.abs(res.raw).max(axis=(1, 2, 3)) > 0).all()  # a real gradient per image
    given = explain(model, IMAGES, method="saliency", target=predicted.tolist())
    np.testing.assert_allclose(res.raw, given.raw, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kwargs", [{"method": "saliency"},
                                    {"method": "gradcam", "layer": "encoder/conv_b"}])
@pytest.mark.parametrize("target", [
    lambda outputs: keras.ops.sum(outputs[1], axis=-1),  # only the other branch
    lambda outputs: keras.ops.zeros_like(outputs[0][:, 0]),  # a constant
], ids=["other_branch", "constant"])
def test_a_score_that_does_not_depend_on_the_input_is_an_error(saved, kwargs, target):
    model = saved("siamese")
    with pytest.raises(ValueError, match="does not depend on"):
        explain(model, cases.images_for("siamese"), target=target, input_index=0, **kwargs)


# 2. nested models and a Sequential of another model's layers -------------------------
def test_a_layer_inside_a_nested_model_by_path(saved):
    model = saved("nested")
    backbone = model.get_layer("backbone")
    inner = {name: keras.Model(backbone.inputs, backbone.get_layer(name).output)
             for name in ("conv", "conv_b")}
    maps = {}
    for name in ("conv", "conv_b"):
        res = explain(model, IMAGES, layer=f"backbone/{name}")
        assert res.layer == f"backbone/{name}"
        np.testing.assert_allclose(res.activations, inner[name].predict(IMAGES, verbose=0),
                                   rtol=1e-5, atol=1e-5)
        assert res.raw.shape == (3,) + inner[name].outputs[0].shape[1:3]
        assert res.maps.std(axis=(1, 2)).min() > 0.01  # a map, not a constant
        maps[name] = res.maps
    assert np.abs(maps["conv"] - maps["conv_b"]).max() > 0.05
    assert explain(model, IMAGES).layer == "backbone/relu_b"  # the default, inside


def test_a_sequential_of_another_models_layers_explains_like_the_original(saved):
    model = saved("cnn")
    borrowed = keras.Sequential(model.layers, name="borrowed")  # its InputLayer included
    for kwargs in ({"layer": "conv2"}, {"layer": "conv1", "method": "gradcam++"},
                   {"method": "guided_backprop"}):
        mine, original = explain(borrowed, IMAGES, **kwargs), explain(model, IMAGES, **kwargs)
        np.testing.assert_allclose(mine.raw, original.raw, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(mine.maps, original.maps, atol=1e-4)


# 3. guided ReLUs -------------------------------------------------------------------
def split_relu(kind: str) -> keras.Model:
    """x (2x2x1) -> conv 1x1 [1, -1] -> ReLU (fused, a ReLU layer, Activation('relu'), or
    fused inside a nested model) -> GAP -> Dense(2), W[:, 0] = [1, -1].

    Class 0's score is mean(relu(x)) - mean(relu(-x)), so the vanilla input gradient is
    1/4 at every pixel; guided ReLUs block the second channel (its incoming gradient is
    -1/4), leaving 1/4 where x > 0 and 0 where x < 0."""
    inputs = keras.Input((2, 2, 1))
    conv = keras.layers.Conv2D(2, 1, activation="relu" if kind in ("fused", "nested") else None,
                               name="split")
    if kind == "nested":
        inner_in = keras.Input((2, 2, 1))
        x = keras.Model(inner_in, conv(inner_in), name="inner")(inputs)
    else:
        x = conv(inputs)
        x = {"fused": lambda t: t, "relu_layer": keras.layers.ReLU(name="relu"),
             "activation": keras.layers.Activation("relu", name="relu")}[kind](x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    head = keras.layers.Dense(2, name="head")
    model = keras.Model(inputs, head(x), name=f"split_{kind}")
    conv.set_weights([np.array([[[[1.0, -1.0]]]]), np.zeros(2)])
    head.set_weights([np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros(2)])
    return model


SPLIT_IMAGE = np.array([[[[1.0], [-1.0]], [[2.0], [-3.0]]]], np.float32)


@pytest.mark.parametrize("kind", ["fused", "relu_layer", "activation", "nested"])
def test_guided_relus_everywhere_a_relu_can_be(kind):
    model = split_relu(kind)
    before, attributes = fingerprint(model, SPLIT_IMAGE), layer_attributes(model)
    vanilla = explain(model, SPLIT_IMAGE, method="saliency", target=0)
    guided = explain(model, SPLIT_IMAGE, method="guided_backprop", target=0)
    also_guided = explain(model, SPLIT_IMAGE, method="saliency", guided=True, target=0)
    np.testing.assert_allclose(vanilla.raw[0, ..., 0], [[0.25, 0.25], [0.25, 0.25]], atol=1e-6)
    np.testing.assert_allclose(guided.raw[0, ..., 0], [[0.25, 0.0], [0.25, 0.0]], atol=1e-6)
    np.testing.assert_allclose(also_guided.raw, guided.raw, atol=1e-7)
    assert guided.guided_coverage.complete and len(guided.guided_coverage.guided) == 1
    assert fingerprint(model, SPLIT_IMAGE) == before and layer_attributes(model) == attributes
    np.testing.assert_allclose(explain(model, SPLIT_IMAGE, method="saliency", target=0).raw,
                               vanilla.raw, atol=1e-7)  # nothing guided was left behind


def test_guided_backprop_covers_relu_layers_and_differs_from_vanilla(saved):
    model = saved("bn_relu")
    before, attributes = fingerprint(model, IMAGES), layer_attributes(model)
    guided = explain(model, IMAGES, method="guided_backprop")
    vanilla = explain(model, IMAGES, method="saliency")
    assert set(guided.guided_coverage.guided) == {"relu1", "relu2"}
    assert guided.guided_coverage.complete
    np.testing.assert_array_equal(guided.targets, vanilla.targets)
    assert np.abs(guided.raw - vanilla.raw).max() > 0.1 * np.abs(vanilla.raw).max()
    assert fingerprint(model, IMAGES) == before and layer_attributes(model) == attributes


# 4. siamese: each input through its own branch ----------------------------------------
def test_each_siamese_input_is_explained_through_its_own_branch(saved):
    model = saved("siamese")
    first, second = cases.images_for("siamese")
    kwargs = {"method": "gradcam", "layer": "encoder/conv_b", "target": cases.similarity}
    left = explain(model, [first, second], input_index=0, **kwargs)
    right = explain(model, [first, second], input_index=1, **kwargs)
    swapped = explain(model, [second, first], input_index=0, **kwargs)
    np.testing.assert_array_equal(left.targets, [-1, -1])
    embeddings = model.predict([first, second], verbose=0)
    cosine = (embeddings[0] * embeddings[1]).sum(-1) / (
        np.linalg.norm(embeddings[0], axis=-1) * np.linalg.norm(embeddings[1], axis=-1))
    np.testing.assert_allclose(left.scores, cosine, rtol=1e-4, atol=1e-5)
    assert np.abs(left.maps - right.maps).max() > 0.1  # different images, different maps
    # the similarity is symmetric: input 1 of (a, b) is input 0 of (b, a)
    np.testing.assert_allclose(right.raw, swapped.raw, rtol=1e-4, atol=1e-6)
    encoder = model.get_layer("encoder")
    conv_b = keras.Model(encoder.inputs, encoder.get_layer("conv_b").output)
    np.testing.assert_allclose(right.activations, conv_b.predict(second, verbose=0),
                               rtol=1e-5, atol=1e-5)


# 5. logits: saliency on a softmax model explains the pre-softmax score ----------------
def test_softmax_models_are_explained_on_their_logits(saved):
    model = saved("cnn")
    head = model.get_layer("head")
    linear = keras.layers.Dense(4, name="logits")
    twin = keras.Model(model.inputs, linear(model.get_layer("gap").output), name="logits_twin")
    linear.set_weights(head.get_weights())
    target = [0, 1, 2]
    on_softmax = explain(model, IMAGES, method="saliency", target=target)
    on_logits = explain(twin, IMAGES, method="saliency", target=target)
    np.testing.assert_allclose(on_softmax.raw, on_logits.raw, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(on_softmax.scores, head_logits(model, IMAGES)[[0, 1, 2], target],
                               rtol=1e-4, atol=1e-5)
    probabilities = explain(model, IMAGES, method="saliency", target=target, logits=False)
    np.testing.assert_allclose(probabilities.scores,
                               model.predict(IMAGES, verbose=0)[[0, 1, 2], target], rtol=1e-4)
    assert np.abs(probabilities.raw - on_logits.raw).max() > 1e-3 * np.abs(on_logits.raw).max()


def test_a_sigmoid_head_explains_class_1_by_the_logit_and_class_0_by_its_negative(saved):
    model = saved("binary")
    logit = head_logits(model, IMAGES)[:, 0]
    one, zero = (explain(model, IMAGES, method="saliency", target=t) for t in (1, 0))
    np.testing.assert_allclose(one.scores, logit, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(zero.scores, -logit, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(zero.raw, -one.raw, rtol=1e-4, atol=1e-7)
    predicted = explain(model, IMAGES, method="saliency")
    np.testing.assert_array_equal(predicted.targets, (logit > 0).astype(np.int64))


# 6. data sets: one fresh result per batch --------------------------------------------
def _batches():
    images = np.random.default_rng(8).random((6, 32, 32, 3), np.float32)
    labels = np.array([0, 1, 2, 3, 0, 1])
    return images, labels


def _check_per_batch(results, model, images, labels):
    assert len(results) == 3
    for index, res in enumerate(results):
        batch = slice(2 * index, 2 * index + 2)
        expected = explain(model, images[batch], target=labels[batch].tolist())
        np.testing.assert_array_equal(res.targets, labels[batch])
        np.testing.assert_allclose(res.maps, expected.maps, atol=1e-5)
        np.testing.assert_allclose(res.raw, expected.raw, rtol=1e-4, atol=1e-6)
    assert np.abs(results[0].maps - results[1].maps).max() > 0.05
    assert np.abs(results[1].maps - results[2].maps).max() > 0.05


def test_explain_dataset_over_a_tf_data_dataset(saved):
    import tensorflow as tf  # for the data set only: Keras' fit takes tf.data on every backend

    model = saved("cnn")
    images, labels = _batches()
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
    results = list(explain_dataset(model, dataset, target="label"))
    _check_per_batch(results, model, images, labels)
    unlabelled = list(explain_dataset(model, dataset.map(lambda x, y: x)))
    predicted = np.argmax(model.predict(images, verbose=0), axis=1)
    np.testing.assert_array_equal(np.concatenate([r.targets for r in unlabelled]), predicted)


def test_explain_dataset_over_any_iterable_of_batches(saved):
    model = saved("cnn")
    images, labels = _batches()
    pairs = [(images[i:i + 2], labels[i:i + 2]) for i in range(0, 6, 2)]
    _check_per_batch(list(explain_dataset(model, pairs, target="label")), model, images, labels)
    generator = ((x, y) for x, y in pairs)
    _check_per_batch(list(explain_dataset(model, generator, target="label")), model, images,
                     labels)
