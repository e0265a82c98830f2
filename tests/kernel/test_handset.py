"""Literal expected values on models whose attributions are worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import explain
from tests.kernel.helpers import RAMP, scale_gap_dense, split_relu

X = RAMP[0, ..., 0]  # values 0..8


def test_gradcam_weights_and_cam_by_hand():
    # class 0: weights [1, 0.5] / 9 -> CAM = (1 * 1 + 0.5 * 2) x / 9 = 2x / 9
    res = explain(scale_gap_dense(), RAMP, method="gradcam", target=0)
    np.testing.assert_allclose(res.raw[0], 2 * X / 9, rtol=1e-6)
    np.testing.assert_allclose(res.maps[0], X / 8, rtol=1e-6)
    assert res.layer == "scale"
    assert res.scores[0] == pytest.approx(1 * 4 + 0.5 * 8)  # sum_k W[k,0] mean(A_k)


def test_predicted_class_is_chosen_outside_the_tape():
    # scores: class 0 = 8, class 1 = -4 + 2 * 8 = 12 -> predicted class 1
    res = explain(scale_gap_dense(), RAMP, method="gradcam")
    assert res.targets.tolist() == [1]
    assert res.scores[0] == pytest.approx(12.0)
    np.testing.assert_allclose(res.raw[0], 3 * X / 9, rtol=1e-6)  # (-1 + 2 * 2) x / 9


def test_gradcam_plus_plus_by_hand():
    # class 1: g = W[k,1]/9 everywhere; channel 0 has g < 0 -> weight 0; channel 1:
    # alpha = 1 / (2 + sum(A_1) g) = 1 / (2 + 72 * 2/9) = 1/18, weight = 9 * alpha * g = 1/9
    res = explain(scale_gap_dense(), RAMP, method="gradcam++", target=1)
    np.testing.assert_allclose(res.raw[0], 2 * X / 9, rtol=1e-5)


def test_layercam_by_hand():
    # class 1: relu(g) = [0, 2/9] at every location -> CAM = 2/9 * 2x
    res = explain(scale_gap_dense(), RAMP, method="layercam", target=1)
    np.testing.assert_allclose(res.raw[0], 4 * X / 9, rtol=1e-6)


def test_saliency_by_hand():
    # d score_1 / dx = (W[0,1] * 1 + W[1,1] * 2) / 9 = 1/3 at every pixel
    res = explain(scale_gap_dense(), RAMP, method="saliency", target=1)
    np.testing.assert_allclose(res.raw[0, ..., 0], np.full((3, 3), 1 / 3), rtol=1e-6)
    np.testing.assert_array_equal(res.maps[0], np.zeros((3, 3)))  # constant -> zeros


def test_logits_are_explained_before_softmax():
    model = scale_gap_dense(activation="softmax")
    on_logits = explain(model, RAMP, method="saliency", target=1)
    on_probs = explain(model, RAMP, method="saliency", target=1, logits=False)
    assert on_logits.scores[0] == pytest.approx(12.0)
    p1 = 1 / (1 + np.exp(-4.0))  # softmax([8, 12])[1]
    assert on_probs.scores[0] == pytest.approx(p1, rel=1e-6)
    np.testing.assert_allclose(on_logits.raw[0, ..., 0], np.full((3, 3), 1 / 3), rtol=1e-5)
    # d p1 / dx = p1 (1 - p1) (d z1/dx - d z0/dx) = p1 (1 - p1) (1/3 - 2/9)
    np.testing.assert_allclose(
        on_probs.raw[0, ..., 0], np.full((3, 3), p1 * (1 - p1) / 9), rtol=1e-4)
    np.testing.assert_allclose(on_logits.predictions[0], [1 - p1, p1], rtol=1e-5)


def test_smoothgrad_of_a_linear_model_is_its_gradient():
    res = explain(scale_gap_dense(), RAMP, method="smoothgrad", target=1, n_samples=4)
    np.testing.assert_allclose(res.raw[0, ..., 0], np.full((3, 3), 1 / 3), rtol=1e-5)


IMAGE = np.array([[1.0, -1.0], [2.0, -3.0]], np.float32).reshape(1, 2, 2, 1)


def test_guided_gradient_by_hand_differs_from_vanilla():
    model = split_relu()
    vanilla = explain(model, IMAGE, method="saliency", target=0)
    guided = explain(model, IMAGE, method="guided_backprop", target=0)
    np.testing.assert_allclose(vanilla.raw[0, ..., 0], [[0.25, 0.25], [0.25, 0.25]])
    np.testing.assert_allclose(guided.raw[0, ..., 0], [[0.25, 0.0], [0.25, 0.0]])
    np.testing.assert_allclose(guided.maps[0], [[1.0, 0.5], [1.0, 0.5]])  # zero is mid-scale
    assert guided.guided_coverage.guided == ("split",)


def test_saliency_with_guided_switch_is_guided_backprop():
    model = split_relu()
    switched = explain(model, IMAGE, method="saliency", guided=True, target=0)
    named = explain(model, IMAGE, method="guided_backprop", target=0)
    np.testing.assert_array_equal(switched.raw, named.raw)
    np.testing.assert_array_equal(switched.maps, named.maps)
