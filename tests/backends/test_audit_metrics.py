"""explain_to_parquet (local engine) and cam_widgets.metrics on this backend."""
from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import explain, explain_to_parquet, read_results
from cam_widgets.audit import maps_of
from cam_widgets.datasets import make_shapes, shapes_model
from cam_widgets.metrics import deletion_insertion, pointing_game
from cam_widgets.render import resize


@pytest.fixture(scope="module")
def shapes():
    return shapes_model(), make_shapes(24, seed=12345)


def test_explain_to_parquet_local_rows_equal_explain(saved, tmp_path):
    model = saved("cnn")
    images = np.random.default_rng(3).random((5, 32, 32, 3), np.float32)
    summary = explain_to_parquet(model, images, tmp_path / "out", engine="local",
                                 map_size=(16, 16), batch_size=2, progress=False)
    assert (summary["written"], summary["failed"]) == (5, {})
    table = read_results(tmp_path / "out")
    assert table.num_rows == 5 and table.column("id").to_pylist() == list(range(5))
    expected = explain(model, images)
    np.testing.assert_array_equal(table.column("target").to_numpy(), expected.targets)
    np.testing.assert_allclose(table.column("score").to_numpy(), expected.scores, rtol=1e-4)
    small = np.stack([resize(m, (16, 16)) for m in expected.maps])
    np.testing.assert_allclose(maps_of(table), small, atol=2**-10)


def test_the_shipped_model_points_at_its_objects(shapes):
    model, data = shapes
    res = explain(model, data.images)
    assert (res.targets == data.labels).mean() >= 0.9
    assert pointing_game(res.maps, data.boxes).mean() >= 0.8


def test_deletion_and_insertion_curves(shapes):
    model, data = shapes
    images = data.images[:6]
    res = explain(model, images)
    probabilities = model.predict(images, verbose=0)[np.arange(6), res.targets]
    curves = deletion_insertion(model, images, res.maps, res.targets, steps=8)
    blank = np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape)
    on_blank = model.predict(np.ascontiguousarray(blank), verbose=0)[np.arange(6), res.targets]
    np.testing.assert_allclose(curves.deletion[:, 0], probabilities, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(curves.insertion[:, -1], probabilities, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(curves.deletion[:, -1], on_blank, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(curves.insertion[:, 0], on_blank, rtol=1e-4, atol=1e-6)
    inverted = deletion_insertion(model, images, 1 - res.maps, res.targets, steps=8)
    assert curves.deletion_auc.mean() < inverted.deletion_auc.mean()
    assert curves.insertion_auc.mean() > inverted.insertion_auc.mean()
