"""A one-unit sigmoid classifier through every registered method: class 1 is the
positive class (its score the logit, its probability p), class 0 the negative one
(minus the logit, 1 - p), as `kernel.targets` documents."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import cam_widgets
from cam_widgets import explain
from tests.kernel.helpers import binary_logits, binary_sigmoid_model

IMAGES = np.random.default_rng(18).random((6, 8, 8, 3)).astype(np.float32)
QUICK = {"smoothgrad": {"n_samples": 2}, "integrated_gradients": {"steps": 4},
         "occlusion": {"window": 4}}


@pytest.fixture(scope="module")
def binary():
    return binary_sigmoid_model(IMAGES)


@pytest.fixture(scope="module")
def logits(binary):
    return binary_logits(binary, IMAGES)


@pytest.fixture(scope="module")
def binary_conv():
    """The same head without attention, for methods with no rule for it (LRP)."""
    return binary_sigmoid_model(IMAGES, attention=False)


NO_ATTENTION = {"lrp"}  # methods that refuse attention layers by name


def test_the_model_predicts_both_classes(binary, logits):
    probabilities = binary.predict(IMAGES, verbose=0)[:, 0]
    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-logits)), rtol=1e-5)
    assert (logits > 0).sum() == 3 and (logits < 0).sum() == 3


@pytest.mark.parametrize("name", [method.name for method in cam_widgets.methods()])
@pytest.mark.parametrize("target", [None, 0, 1])
def test_every_method_explains_both_classes_of_a_sigmoid_head(binary, binary_conv, logits,
                                                              name, target):
    if name in NO_ATTENTION:
        binary, logits = binary_conv, binary_logits(binary_conv, IMAGES)
    res = explain(binary, IMAGES, method=name, target=target, **QUICK.get(name, {}))
    assert res.maps.shape[0] == 6 and np.isfinite(res.maps).all()
    assert res.maps.min() >= 0 and res.maps.max() <= 1
    predicted = (logits > 0).astype(np.int64)
    expected = predicted if target is None else np.full(6, target)
    np.testing.assert_array_equal(res.targets, expected)
    # class 1 scores the logit, class 0 minus the logit
    np.testing.assert_allclose(res.scores, np.where(expected == 1, logits, -logits),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(res.predictions[:, 0], 1 / (1 + np.exp(-logits)), rtol=1e-5)


@pytest.mark.parametrize("score", ["softmax", "logit"])
def test_scorecam_weights_of_class_0_are_minus_those_of_class_1(binary, score):
    one = explain(binary, IMAGES, method="scorecam", target=1, score=score)
    zero = explain(binary, IMAGES, method="scorecam", target=0, score=score)
    assert np.abs(one.raw).max() > 1e-3  # not all-zero weights
    np.testing.assert_allclose(zero.raw, -one.raw, rtol=1e-4, atol=1e-6)


def test_scorecam_softmax_score_of_a_sigmoid_head_is_p(binary):
    """Score-CAM's "softmax" score of class 1 is the sigmoid's p: each channel's weight
    is p(masked input) - p(black image), computed here with the model itself."""
    res = explain(binary, IMAGES[:2], method="scorecam", layer="patch", target=1)
    activations = tf.keras.Model(binary.inputs[0], binary.get_layer("patch").output)(
        IMAGES[:2]).numpy()  # (2, 4, 4, 4)
    baseline = binary.predict(np.zeros_like(IMAGES[:2]), verbose=0)[:, 0]
    cam = np.zeros(activations.shape[:3])
    for channel in range(activations.shape[-1]):
        up = tf.image.resize(activations[..., channel:channel + 1], (8, 8)).numpy()
        low = up.min(axis=(1, 2), keepdims=True)
        high = up.max(axis=(1, 2), keepdims=True)
        masks = np.where(high > low, (up - low) / np.where(high > low, high - low, 1), 0)
        weights = binary.predict(IMAGES[:2] * masks, verbose=0)[:, 0] - baseline
        cam += weights[:, None, None] * activations[..., channel]
    np.testing.assert_allclose(res.raw, cam, rtol=1e-4, atol=1e-6)
