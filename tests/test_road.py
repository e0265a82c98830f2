"""Noisy linear imputation and ROAD: literal values, a linear image it must restore, and
the shipped model."""
from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import explain
from cam_widgets.datasets import make_shapes, shapes_model
from cam_widgets.imputation import impute
from cam_widgets.metrics import road
from tests.helpers import mean_model


def test_one_removed_pixel_is_the_weighted_mean_of_its_neighbours():
    image = np.arange(9, dtype=np.float32).reshape(3, 3, 1) ** 2  # 0 1 4 / 9 16 25 / 36 49 64
    removed = np.zeros((3, 3), bool)
    removed[1, 1] = True
    direct, diagonal = 1 + 9 + 25 + 49, 0 + 4 + 36 + 64
    out = impute(image, removed, noise=0.0)
    assert out[1, 1, 0] == pytest.approx(direct / 6 + diagonal / 12)
    np.testing.assert_array_equal(np.delete(out.ravel(), 4), np.delete(image.ravel(), 4))


def test_a_hole_in_a_linear_image_is_filled_exactly():
    rows, cols = np.mgrid[0:9, 0:9]
    image = np.stack([0.1 * rows + 0.05 * cols, 1 - 0.02 * rows], -1).astype(np.float32)
    removed = np.zeros((9, 9), bool)
    removed[2:6, 3:7] = True  # 16 unknowns coupled to each other
    np.testing.assert_allclose(impute(image, removed, noise=0.0), image, atol=1e-6)


def test_noise_is_added_to_the_imputed_pixels_only():
    image = np.full((16, 16, 3), 0.5, np.float32)
    removed = np.random.default_rng(1).random((16, 16)) < 0.5  # touches the border too
    out = impute(image, removed, noise=0.1, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(out[~removed], image[~removed])
    assert np.std(out[removed] - 0.5) == pytest.approx(0.1, rel=0.15)
    with pytest.raises(ValueError, match="Every pixel of an image is removed"):
        impute(image, np.ones((16, 16), bool))


def test_road_removes_most_and_least_relevant_pixels_by_rank():
    # score = mean of 16 pixels; the image is 1 on the left half, 0 on the right; the map
    # ranks the left half first, so MoRF removes left pixels and LeRF right ones
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[0, :, :2] = 1.0
    ranking = np.zeros((1, 4, 4), np.float32)
    ranking[0, :, :2] = 1.0
    curves = road(mean_model(), image, ranking, np.zeros(1, np.int64), percentiles=(25, 50),
                  noise=0.0)
    by_hand = {}
    for order, removed in (("morf", [ranking[0] > 0] * 2), ("lerf", [ranking[0] == 0] * 2)):
        masks = [np.zeros((4, 4), bool), np.zeros((4, 4), bool)]
        flat = np.argsort(-ranking[0].ravel(), kind="stable")
        keep = flat if order == "morf" else flat[::-1]
        masks[0].ravel()[keep[:4]] = True
        masks[1].ravel()[keep[:8]] = True
        by_hand[order] = [impute(image[0], mask, 0.0).mean() for mask in masks]
    np.testing.assert_allclose(curves.morf[0], by_hand["morf"], rtol=1e-5)
    np.testing.assert_allclose(curves.lerf[0], by_hand["lerf"], rtol=1e-5)
    assert curves.morf[0, 1] < 0.5 < curves.lerf[0, 1]  # removing the bright half hurts
    assert curves.morf_correct.shape == (1, 2)


@pytest.mark.slow  # the shipped model, or PyTorch + zennit imported: make test runs it
def test_gradcam_is_faithful_under_road_on_the_shipped_model():
    model, data = shapes_model(), make_shapes(8, seed=5)
    res = explain(model, data.images, method="gradcam")
    curves = road(model, data.images, res.maps, res.targets, percentiles=(20, 50, 80))
    assert curves.morf_mean.mean() < curves.lerf_mean.mean()


@pytest.mark.parametrize("percentiles", [(0, 50), (50, 100), ()])
def test_road_refuses_percentiles_outside_0_100(percentiles):
    with pytest.raises(ValueError, match=r"percentiles must be numbers in \(0, 100\)"):
        road(mean_model(), np.ones((1, 4, 4, 1)), np.ones((1, 4, 4)), np.zeros(1, np.int64),
             percentiles=percentiles)
