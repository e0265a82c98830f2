"""A stop requested while a long method runs abandons it on this backend: `explain`
raises Cancelled (TensorFlow and PyTorch stop at the next chunk; JAX's compiled loop
runs to its end first), and the next call runs as usual. `explain_shared` gives each
member's map as `explain` does."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from cam_widgets import explain
from cam_widgets.kernel import cancel
from cam_widgets.kernel.shared_pass import explain_shared
from tests.backends import cases

SHARED = ("gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "saliency")


def test_a_stop_during_a_long_method_raises_cancelled_and_the_next_call_runs(saved):
    model = saved("cnn")
    images = cases.images_for("cnn", 1)
    options = {"n_samples": 200, "chunk_size": 1}
    explain(model, images, method="smoothgrad", **options)  # compiled first
    timer = threading.Timer(0.05, cancel.request_stop)
    timer.start()
    with pytest.raises(cancel.Cancelled, match="abandoned"):
        explain(model, images, method="smoothgrad", **options)
    timer.join()
    result = explain(model, images, method="smoothgrad", n_samples=2)
    assert np.isfinite(result.maps).all() and not cancel.stop_requested()


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
