"""Metrics on constructed maps whose answers are known, and on the shipped model."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from cam_widgets import explain
from cam_widgets.datasets import make_shapes, shapes_model
from cam_widgets.metrics import (
    deletion_insertion, energy_in_box, pointing_game, randomisation_check, rank_correlation)
from tests.helpers import fingerprint, mean_model

BOX = np.array([[1, 1, 3, 3]])  # rows 1-2, cols 1-2 of a 4x4 map


def peak_at(row, col, size=4):
    maps = np.zeros((1, size, size), np.float32)
    maps[0, row, col] = 1.0
    return maps


def test_pointing_game():
    assert pointing_game(peak_at(2, 2), BOX).tolist() == [True]
    assert pointing_game(peak_at(0, 3), BOX).tolist() == [False]
    assert pointing_game(peak_at(0, 3), BOX, tolerance=1).tolist() == [True]
    assert pointing_game(np.ones((1, 4, 4)), BOX).tolist() == [False]  # points nowhere


def test_energy_in_box():
    assert energy_in_box(peak_at(1, 2), BOX)[0] == 1.0
    assert energy_in_box(np.ones((1, 4, 4)), BOX)[0] == pytest.approx(4 / 16)
    assert energy_in_box(np.zeros((1, 4, 4)), BOX)[0] == 0.0
    with pytest.raises(ValueError, match=r"maps \(B, H, W\) and boxes \(B, 4\)"):
        energy_in_box(np.ones((4, 4)), BOX)


def test_uniform_map_on_uniform_image_gives_equal_aucs():
    curves = deletion_insertion(mean_model(), np.ones((1, 4, 4, 1)), np.ones((1, 4, 4)),
                                np.zeros(1, np.int64), steps=4, baseline=0.0)
    np.testing.assert_allclose(curves.deletion[0], [1, 0.75, 0.5, 0.25, 0], atol=1e-6)
    np.testing.assert_allclose(curves.insertion[0], [0, 0.25, 0.5, 0.75, 1], atol=1e-6)
    assert curves.deletion_auc[0] == pytest.approx(0.5) == curves.insertion_auc[0]


def test_faithful_map_deletes_fast_and_inserts_fast():
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[0, 1:3, 1:3] = 4.0  # mean 1, all of it in the box
    box_map = np.zeros((1, 4, 4), np.float32)
    box_map[0, 1:3, 1:3] = 1.0
    good = deletion_insertion(mean_model(), image, box_map, np.zeros(1, np.int64), steps=4,
                              baseline=0.0)
    np.testing.assert_allclose(good.deletion[0], [1, 0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(good.insertion[0], [0, 1, 1, 1, 1], atol=1e-6)
    assert good.deletion_auc[0] == pytest.approx(0.125)
    assert good.insertion_auc[0] == pytest.approx(0.875)
    bad = deletion_insertion(mean_model(), image, 1 - box_map, np.zeros(1, np.int64), steps=4,
                             baseline=0.0)
    assert bad.deletion_auc[0] > good.deletion_auc[0]
    assert bad.insertion_auc[0] < good.insertion_auc[0]


def test_rank_correlation():
    maps = np.random.default_rng(0).random((2, 5, 5))
    np.testing.assert_allclose(rank_correlation(maps, maps), [1, 1])
    np.testing.assert_allclose(rank_correlation(maps, -maps), [-1, -1])


@pytest.fixture(scope="module")
def shapes():
    return shapes_model(), make_shapes(200, seed=12345)


def test_gradcam_of_the_shipped_model_points_inside_the_box(shapes):
    model, data = shapes
    res = explain(model, data.images)
    assert (res.targets == data.labels).mean() >= 0.95
    assert pointing_game(res.maps, data.boxes).mean() >= 0.90


def test_randomisation_check_drops_correlation_for_gradcam_and_keeps_the_model(shapes):
    model, data = shapes
    images = data.images[:64]
    before = fingerprint(model, images)
    check = randomisation_check(model, images, top_layers=2, method="gradcam")
    assert len(check.layers_reset) == 2 and check.layers_reset[0] == "predictions"
    assert np.median(check.rank_correlation) < 0.5
    assert fingerprint(model, images) == before
    with pytest.raises(ValueError, match="top_layers must be between 1 and"):
        randomisation_check(model, images[:1], top_layers=99)


def test_mean_baseline_is_each_images_mean_colour():
    image = np.random.default_rng(3).random((2, 4, 4, 1)).astype(np.float32)
    maps = np.random.default_rng(4).random((2, 4, 4))
    targets = np.zeros(2, np.int64)
    by_name = deletion_insertion(mean_model(), image, maps, targets, steps=4)
    explicit = deletion_insertion(mean_model(), image, maps, targets, steps=4,
                                  baseline=image.mean(axis=(1, 2), keepdims=True))
    np.testing.assert_array_equal(by_name.deletion, explicit.deletion)
    # fully deleted = an image of its mean colour, whose mean is the image's mean
    np.testing.assert_allclose(by_name.deletion[:, -1], image.mean(axis=(1, 2, 3)), rtol=1e-5)
    with pytest.raises(ValueError, match="baseline must be 'mean'"):
        deletion_insertion(mean_model(), image, maps, targets, baseline="blur")


def test_a_binary_sigmoid_head_scores_class_0_as_one_minus_p():
    inputs = keras.Input((4, 4, 1))
    dense = keras.layers.Dense(1, activation="sigmoid", use_bias=False)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([np.full((16, 1), 1 / 16, np.float32)])  # p = sigmoid(mean pixel)
    image, everywhere = np.ones((1, 4, 4, 1), np.float32), np.ones((1, 4, 4), np.float32)
    p_full, p_empty = 1 / (1 + np.exp(-1.0)), 0.5
    for target, first, last in ((1, p_full, p_empty), (0, 1 - p_full, 1 - p_empty)):
        curves = deletion_insertion(model, image, everywhere, np.array([target]), steps=4,
                                    baseline=0.0)
        np.testing.assert_allclose(curves.deletion[0][[0, -1]], [first, last], atol=1e-6)
