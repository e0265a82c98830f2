"""explain_dataset's progress bar: images counted, images/s shown, off outside notebooks."""
from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain_dataset
from cam_widgets.kernel import progress as progress_module
from tests.kernel.helpers import scale_gap_dense


@pytest.fixture(scope="module")
def model_and_data():
    images = np.random.default_rng(3).random((7, 3, 3, 1), np.float32)
    return scale_gap_dense(), tf.data.Dataset.from_tensor_slices(images).batch(3)


def _bar_lines(text: str) -> list[str]:
    return [line for line in re.split(r"[\r\n]", text) if line.strip()]


def test_progress_true_counts_every_image_with_a_rate(model_and_data, capsys):
    model, dataset = model_and_data
    results = list(explain_dataset(model, dataset, progress=True))
    assert [len(r.targets) for r in results] == [3, 3, 1]
    lines = _bar_lines(capsys.readouterr().err)
    assert lines, "no progress bar was drawn"
    assert re.search(r"\b7img\b", lines[-1]), lines[-1]  # 7 images in the end, not 3 batches
    assert "img/s" in lines[-1]
    assert lines[-1].startswith("gradcam")


def test_known_size_gives_a_total_that_ends_exact(model_and_data, capsys):
    model, dataset = model_and_data
    images = np.random.default_rng(4).random((6, 3, 3, 1), np.float32)
    fixed = tf.data.Dataset.from_tensor_slices(images).batch(3, drop_remainder=True)
    list(explain_dataset(model, fixed, progress=True))
    assert "6/6" in _bar_lines(capsys.readouterr().err)[-1]
    list(explain_dataset(model, dataset, progress=True))  # batch size unknown: a count only
    assert "/" not in _bar_lines(capsys.readouterr().err)[-1].split("img/s")[0]


def test_default_is_off_outside_notebooks_and_on_inside(model_and_data, capsys, monkeypatch):
    model, dataset = model_and_data
    assert not progress_module.in_notebook()
    list(explain_dataset(model, dataset))
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    list(explain_dataset(model, dataset))
    assert "7img" in capsys.readouterr().err


def test_progress_must_be_a_bool_or_none(model_and_data):
    model, dataset = model_and_data
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        next(explain_dataset(model, dataset, progress="yes"))
