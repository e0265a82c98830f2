"""explain_shared: the CAM family and saliency from one forward and one backward pass,
each member equal to its own explain call; what it refuses, with what would work."""
from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import explain
from cam_widgets.datasets import make_shapes, shapes_model
from cam_widgets.kernel.compiled import compiled_functions
from cam_widgets.kernel.shared_pass import explain_shared, shares_a_pass

MEMBERS = ("xgradcam", "saliency", "gradcam", "layercam", "gradcam++", "hirescam")


@pytest.fixture(scope="module")
def model_and_images():
    return shapes_model(), make_shapes(3, seed=5).images


def test_every_member_equals_its_own_explain_call_and_one_function_serves_them(
        model_and_images):
    model, images = model_and_images
    before = len(compiled_functions(model))
    shared = explain_shared(model, images, MEMBERS, target=[0, 1, 3])
    assert len(compiled_functions(model)) == before + 1  # one function for six maps
    assert list(shared) == list(MEMBERS)
    for method in MEMBERS:
        alone = explain(model, images, method=method, target=[0, 1, 3])
        got = shared[method]
        np.testing.assert_allclose(got.maps, alone.maps, atol=1e-6)
        np.testing.assert_allclose(got.raw, alone.raw, atol=1e-6)
        np.testing.assert_array_equal(got.targets, alone.targets)
        assert (got.layer, got.method, got.signed) == (alone.layer, method, alone.signed)
        assert (got.activations is None) == (method == "saliency")


def test_from_given_activations_only_the_tail_runs_for_every_cam(model_and_images):
    model, images = model_and_images
    first = explain_shared(model, images, ("gradcam", "layercam"))
    tail = explain_shared(model, images, ("gradcam", "layercam"), target=2,
                          activations=first["gradcam"].activations, compiled=False)
    for method in ("gradcam", "layercam"):
        np.testing.assert_allclose(tail[method].maps,
                                   explain(model, images, method=method, target=2).maps,
                                   atol=1e-6)


def test_what_cannot_share_a_pass_is_refused_with_what_would_work(model_and_images):
    model, images = model_and_images
    assert shares_a_pass("gradcam") and shares_a_pass("saliency")
    assert not shares_a_pass("guided_gradcam") and not shares_a_pass("occlusion")
    with pytest.raises(ValueError, match=r"\['occlusion'\] given. Use explain"):
        explain_shared(model, images, ("gradcam", "occlusion"))
    with pytest.raises(ValueError, match="reads one layer"):
        explain_shared(model, images, ("gradcam",), layer=["conv1", "last_conv"])
    activations = explain(model, images).activations
    with pytest.raises(ValueError, match="'saliency' \\(the input gradient\\) cannot"):
        explain_shared(model, images, ("gradcam", "saliency"), activations=activations)
    alone = explain_shared(model, images, ("saliency",), target=1)["saliency"]
    np.testing.assert_allclose(alone.maps, explain(model, images, method="saliency",
                                                   target=1).maps, atol=1e-6)
