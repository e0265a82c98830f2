"""A stop requested while a long method runs abandons it on this backend at its next
chunk (TensorFlow: the compiled loop's condition asks the host; JAX: its compiled loop
does, through a callback; PyTorch: its Python loop): `explain` raises Cancelled well
before the whole call's time, and the next call runs as usual. `explain_shared` gives
each member's map as `explain` does."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from cam_widgets import explain
from cam_widgets.kernel import cancel
from cam_widgets.kernel.shared_pass import explain_shared
from tests.backends import cases

SHARED = ("gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "saliency")
LONG = {"n_samples": 2000, "chunk_size": 1}  # 2000 chunks (a second or more), each asking


def test_a_stop_during_a_long_method_ends_it_at_its_next_chunk(saved):
    model = saved("cnn")
    images = cases.images_for("cnn", 1)
    explain(model, images, method="smoothgrad", n_samples=4, chunk_size=1)  # compiled
    start = time.perf_counter()
    whole = explain(model, images, method="smoothgrad", **LONG)
    whole_s = time.perf_counter() - start
    timer = threading.Timer(whole_s / 10, cancel.request_stop)
    timer.start()
    start = time.perf_counter()
    with pytest.raises(cancel.Cancelled, match="abandoned"):
        explain(model, images, method="smoothgrad", **LONG)
    timer.join()
    assert time.perf_counter() - start < whole_s / 2
    assert not cancel.stop_requested()  # withdrawn: the next call runs to its end
    again = explain(model, images, method="smoothgrad", n_samples=8, chunk_size=1, seed=3)
    alone = explain(model, images, method="smoothgrad", n_samples=8, chunk_size=8, seed=3)
    np.testing.assert_allclose(again.maps, alone.maps, atol=1e-5)  # every chunk summed
    assert np.ptp(whole.maps) > 0


def test_one_shared_pass_equals_each_method_alone(saved):
    model = saved("cnn")
    images = cases.images_for("cnn", 2)
    shared = explain_shared(model, images, SHARED, target=1)
    for method in SHARED:
        alone = explain(model, images, method=method, target=1)
        np.testing.assert_allclose(shared[method].maps, alone.maps, atol=1e-5)
        assert shared[method].layer == alone.layer
    tail = explain_shared(model, images, SHARED[:5], target=2,
                          activations=shared["gradcam"].activations)
    for method in SHARED[:5]:
        alone = explain(model, images, method=method, target=2)
        np.testing.assert_allclose(tail[method].maps, alone.maps, atol=1e-5)
