from __future__ import annotations

import numpy as np
import pytest

from cam_widgets.datasets import CLASS_NAMES, ShapesBatch, make_shapes, shapes_model

FIELDS = ("images", "labels", "boxes", "masks")


def test_class_names():
    assert CLASS_NAMES == ("circle", "square", "triangle", "cross")


def test_same_seed_gives_identical_arrays():
    first, second = make_shapes(300, seed=5), make_shapes(300, seed=5)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))


def test_different_seed_gives_different_arrays():
    first, second = make_shapes(20, seed=5), make_shapes(20, seed=6)
    for field in FIELDS:
        assert not np.array_equal(getattr(first, field), getattr(second, field)), field


@pytest.mark.parametrize("n, size", [(1, 64), (5, 32), (300, 64), (3, 96)])
def test_shapes_dtypes_and_ranges(n, size):
    batch = make_shapes(n, seed=1, size=size)
    assert isinstance(batch, ShapesBatch)
    assert len(batch) == n
    assert batch.images.shape == (n, size, size, 3) and batch.images.dtype == np.float32
    assert batch.labels.shape == (n,) and batch.labels.dtype == np.int64
    assert batch.boxes.shape == (n, 4) and batch.boxes.dtype == np.int64
    assert batch.masks.shape == (n, size, size) and batch.masks.dtype == np.bool_
    assert batch.images.min() >= 0.0 and batch.images.max() <= 1.0
    assert set(np.unique(batch.labels)) <= {0, 1, 2, 3}


def test_boxes_are_tight_around_masks():
    batch = make_shapes(300, seed=2)  # more than one rendering chunk
    y0, x0, y1, x1 = batch.boxes.T
    assert np.all((0 <= y0) & (y0 < y1) & (y1 <= 64))
    assert np.all((0 <= x0) & (x0 < x1) & (x1 <= 64))
    rows, cols = np.arange(64)[None, :, None], np.arange(64)[None, None, :]
    in_box = (
        (rows >= y0[:, None, None])
        & (rows < y1[:, None, None])
        & (cols >= x0[:, None, None])
        & (cols < x1[:, None, None])
    )
    assert not np.any(batch.masks & ~in_box)  # every mask pixel lies inside its box
    index = np.arange(300)
    on_rows, on_cols = batch.masks.any(axis=2), batch.masks.any(axis=1)
    assert np.all(on_rows[index, y0] & on_rows[index, y1 - 1])  # first and last rows used
    assert np.all(on_cols[index, x0] & on_cols[index, x1 - 1])


def test_objects_are_sized_as_documented():
    batch = make_shapes(400, seed=3)
    heights = batch.boxes[:, 2] - batch.boxes[:, 0]
    widths = batch.boxes[:, 3] - batch.boxes[:, 1]
    assert heights.min() >= 12 and widths.min() >= 12
    # 30 px objects; a square rotated by 30 degrees spans up to 41 px
    assert heights.max() <= 42 and widths.max() <= 42
    assert batch.masks.sum(axis=(1, 2)).min() >= 90


def test_objects_contrast_with_background():
    batch = make_shapes(200, seed=4)
    for image, mask in zip(batch.images, batch.masks):
        inside = np.median(image[mask], axis=0)
        outside = np.median(image[~mask], axis=0)
        assert np.abs(inside - outside).max() > 0.2


def test_labels_are_balanced_over_all_classes():
    np.testing.assert_array_equal(np.bincount(make_shapes(400, seed=0).labels), [100] * 4)
    np.testing.assert_array_equal(np.bincount(make_shapes(6, seed=0).labels), [2, 2, 1, 1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "n must be a positive integer, got 0"),
        ({"n": -3}, "n must be a positive integer, got -3"),
        ({"n": 2.5}, "n must be a positive integer, got 2.5"),
        ({"n": True}, "n must be a positive integer, got True"),
        ({"n": 4, "size": 31}, "size must be an integer >= 32, got 31"),
        ({"n": 4, "size": 64.0}, "size must be an integer >= 32, got 64.0"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_shapes(**kwargs)


def test_shapes_model_classifies_fresh_images():
    model = shapes_model()
    assert model is not shapes_model()  # a fresh load each call
    assert tuple(model.inputs[0].shape) == (None, 64, 64, 3)
    assert tuple(model.get_layer("last_conv").output.shape) == (None, 16, 16, 64)
    assert tuple(model.get_layer("predictions").output.shape) == (None, 4)
    batch = make_shapes(500, seed=2024)  # the training script uses seeds 1 and 2
    probs = model.predict(batch.images, batch_size=250, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(probs.argmax(axis=1) == batch.labels) >= 0.95
