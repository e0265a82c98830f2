"""SmoothGrad in chunks of noisy copies: against a per-sample reference, and the same
whatever the chunking."""
from __future__ import annotations

import numpy as np

from cam_widgets import explain
from tests.kernel import reference as ref
from tests.kernel.helpers import small_cnn


def reference_smoothgrad(model, images, classes, n_samples, noise_level, seed):
    """One sample at a time, noise for sample s from NumPy's generator seeded (seed, s)."""
    spread = images.max(axis=(1, 2, 3), keepdims=True) - images.min(axis=(1, 2, 3), keepdims=True)
    total = np.zeros_like(images)
    for sample in range(n_samples):
        noise = np.random.default_rng([seed, sample]).standard_normal(images.shape, np.float32)
        total += ref.input_gradient(model, images + noise_level * spread * noise,
                                    ref.class_score(classes))
    return total / n_samples


def test_smoothgrad_equals_a_per_sample_reference_for_every_chunking():
    model = small_cnn(activation=None)
    images = np.random.default_rng(3).random((3, 28, 28, 1), np.float32)
    expected = reference_smoothgrad(model, images, [1, 4, 7], 5, 0.2, 11)
    for chunk_size in (1, 4, 6, 32):  # 1, 1, 2 and 5 copies per pass (the last one partial)
        res = explain(model, images, method="smoothgrad", target=[1, 4, 7], n_samples=5,
                      noise_level=0.2, seed=11, chunk_size=chunk_size)
        np.testing.assert_allclose(res.raw, expected, rtol=1e-4, atol=1e-6)
