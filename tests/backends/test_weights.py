"""Current weights are followed: after `set_weights` the next explanation uses the new
values (as a fresh model holding them would give), never values captured by an earlier
compilation."""
from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import explain
from tests.backends import cases

IMAGES = np.random.default_rng(9).random((2, 32, 32, 3), np.float32)


def other_weights(weights: list[np.ndarray]) -> list[np.ndarray]:
    rng = np.random.default_rng(4)
    return [w * rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) + 0.05 for w in weights]


@pytest.mark.parametrize("kwargs", [{"method": "gradcam"}, {"method": "guided_backprop"},
                                    {"method": "smoothgrad", "n_samples": 2}],
                         ids=["gradcam", "guided_backprop", "smoothgrad"])
def test_set_weights_after_a_first_explain_changes_the_next_result(kwargs):
    model = cases.cnn()
    first_weights = model.get_weights()
    first = explain(model, IMAGES, target=[1, 2], **kwargs)
    new = other_weights(first_weights)
    model.set_weights(new)
    second = explain(model, IMAGES, target=[1, 2], **kwargs)
    assert np.abs(second.raw - first.raw).max() > 1e-2 * np.abs(first.raw).max()
    fresh = cases.cnn()
    fresh.set_weights(new)
    expected = explain(fresh, IMAGES, target=[1, 2], **kwargs)
    np.testing.assert_allclose(second.raw, expected.raw, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(second.scores, expected.scores, rtol=1e-4)
    model.set_weights(first_weights)  # and back again
    np.testing.assert_allclose(explain(model, IMAGES, target=[1, 2], **kwargs).raw, first.raw,
                               rtol=1e-4, atol=1e-6)


def test_a_weight_assigned_in_place_is_followed_too():
    """`variable.assign` (what an optimizer step does) rather than `set_weights`: the
    head's kernel negated (its bias is zero) negates the logits and their gradients."""
    model = cases.cnn()
    head = model.get_layer("head")
    assert not head.bias.numpy().any()
    first = explain(model, IMAGES, method="saliency", target=[0, 3])
    head.kernel.assign(-head.kernel.numpy())
    second = explain(model, IMAGES, method="saliency", target=[0, 3])
    np.testing.assert_allclose(second.scores, -first.scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second.raw, -first.raw, rtol=1e-4, atol=1e-7)
