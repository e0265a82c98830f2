"""Abandoning a running explanation: a stop asked from another thread ends a long
method at its next chunk, and explain raises Cancelled; the stop is then withdrawn."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from cam_widgets.datasets import make_shapes, shapes_model
from cam_widgets.kernel import cancel, explain

LONG = {"n_samples": 600, "chunk_size": 1}  # 600 chunks: a second or more


@pytest.fixture(scope="module")
def model_and_image():
    return shapes_model(), make_shapes(1, seed=2).images


def _stop_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, cancel.request_stop)
    timer.start()
    return timer


def test_a_stop_abandons_a_long_method_at_its_next_chunk(model_and_image):
    model, image = model_and_image
    explain(model, image, method="smoothgrad", n_samples=2, chunk_size=1)  # traced
    start = time.perf_counter()
    whole = explain(model, image, method="smoothgrad", **LONG)
    whole_s = time.perf_counter() - start
    timer = _stop_after(whole_s / 10)
    start = time.perf_counter()
    with pytest.raises(cancel.Cancelled, match="smoothgrad.*abandoned"):
        explain(model, image, method="smoothgrad", **LONG)
    timer.join()
    assert time.perf_counter() - start < whole_s / 2
    again = explain(model, image, method="smoothgrad", **LONG)  # the flag was cleared
    np.testing.assert_allclose(again.maps, whole.maps, atol=1e-6)


def test_a_stop_asked_before_a_call_stops_it_and_clear_withdraws_one(model_and_image):
    model, image = model_and_image
    cancel.request_stop()
    with pytest.raises(cancel.Cancelled):
        explain(model, image, method="occlusion")
    assert not cancel.stop_requested()  # withdrawn by the Cancelled
    cancel.request_stop()
    cancel.clear()
    assert explain(model, image, method="occlusion").maps.shape == (1, 64, 64)


def test_a_stop_abandons_deletion_insertion_between_its_forward_batches(model_and_image):
    from cam_widgets.metrics import deletion_insertion

    model, image = model_and_image
    maps = explain(model, image).maps
    whole = deletion_insertion(model, image, maps, np.array([1]), steps=8, batch_size=2)
    cancel.request_stop()
    with pytest.raises(cancel.Cancelled, match="metric.*abandoned"):
        deletion_insertion(model, image, maps, np.array([1]), steps=8, batch_size=2)
    assert not cancel.stop_requested()
    again = deletion_insertion(model, image, maps, np.array([1]), steps=8, batch_size=2)
    np.testing.assert_allclose(again.deletion_auc, whole.deletion_auc)
