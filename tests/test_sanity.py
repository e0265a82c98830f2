"""The cascading sanity check: which layers are randomised, in which order, with which
seed, on a copy; its similarities against references; the paper's finding on the shipped
model."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr
from skimage.feature import hog

from cam_widgets import explain
from cam_widgets.datasets import make_shapes, shapes_model
from cam_widgets.metrics import sanity_check
from cam_widgets.sanity import hog_similarity, pearson, randomisable_layers, spearman, ssim
from tests.helpers import fingerprint


def tiny_model() -> keras.Model:
    """conv (3x3) -> relu -> top (1x1) -> relu -> GAP -> head (2 classes), weights by hand."""
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(3, 3, padding="same", name="conv")(inputs)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.Conv2D(2, 1, name="top")(x)
    x = keras.layers.ReLU(name="top_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    model.get_layer("conv").set_weights([rng.normal(size=(3, 3, 1, 3)), np.full(3, 0.1)])
    model.get_layer("top").set_weights([np.array([[[[1.0, -0.5], [0.5, 1.0], [-1.0, 0.5]]]]),
                                        np.zeros(2)])
    model.get_layer("head").set_weights([np.array([[2.0, -1.0], [-1.0, 2.0]]), np.zeros(2)])
    return model


def images() -> np.ndarray:
    return np.random.default_rng(1).random((3, 8, 8, 1)).astype(np.float32)


def copy_with(model: keras.Model, seeds: dict[str, int]) -> keras.Model:
    """A copy of `model` whose named layers get Glorot kernels with these seeds, zero bias."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for name, seed in seeds.items():
        layer = copy.get_layer(name)
        kernel = keras.initializers.GlorotUniform(seed=seed)(layer.kernel.shape)
        layer.set_weights([np.asarray(kernel), np.zeros(layer.bias.shape)])
    return copy


def signed(result) -> np.ndarray:
    """Grad-CAM's signed map at 8x8 by hand: the raw CAM is 8x8 already here."""
    return np.asarray(result.raw)


def test_layers_are_randomised_from_the_top_cumulatively_with_the_seed():
    model, x = tiny_model(), images()
    before = fingerprint(model, x)
    check = sanity_check(model, x, method="gradcam", layer="top_relu", seed=5)
    assert check.layers == ("head", "top", "conv")
    assert check.maps.shape == (4, 3, 8, 8) and check.spearman.shape == (3, 3)
    original = explain(model, x, method="gradcam", layer="top_relu")
    expected = [original] + [
        explain(copy_with(model, seeds), x, method="gradcam", layer="top_relu",
                target=original.targets)
        for seeds in ({"head": 5}, {"head": 5, "top": 6}, {"head": 5, "top": 6, "conv": 7})]
    np.testing.assert_allclose(check.maps, np.stack([r.maps for r in expected]), atol=1e-5)
    for step in range(3):
        for image in range(3):
            first, later = signed(expected[0])[image], signed(expected[step + 1])[image]
            want_abs = spearmanr(np.abs(first).ravel(), np.abs(later).ravel()).statistic
            want = spearmanr(first.ravel(), later.ravel()).statistic
            assert check.spearman_abs[step, image] == pytest.approx(np.nan_to_num(want_abs),
                                                                    abs=1e-5)
            assert check.spearman[step, image] == pytest.approx(np.nan_to_num(want), abs=1e-5)
    assert fingerprint(model, x) == before  # the user's model: same bytes, same outputs


def test_independent_randomisation_resets_one_layer_per_step():
    model, x = tiny_model(), images()
    check = sanity_check(model, x, method="gradcam", layer="top_relu", seed=5,
                         layers=["conv", "head"], cascade=False)
    assert check.layers == ("head", "conv")  # always from the top down
    original = explain(model, x, method="gradcam", layer="top_relu")
    for step, seeds in enumerate(({"head": 5}, {"conv": 6})):
        want = explain(copy_with(model, seeds), x, method="gradcam", layer="top_relu",
                       target=original.targets)
        np.testing.assert_allclose(check.maps[step + 1], want.maps, atol=1e-5)


def test_same_seed_same_maps_other_seed_other_maps():
    model, x = tiny_model(), images()
    first = sanity_check(model, x, method="saliency", layers=1, seed=0)
    again = sanity_check(model, x, method="saliency", layers=1, seed=0)
    other = sanity_check(model, x, method="saliency", layers=1, seed=1)
    np.testing.assert_array_equal(first.maps, again.maps)
    assert not np.allclose(first.maps[1], other.maps[1])
    np.testing.assert_array_equal(first.maps[0], other.maps[0])


def test_bad_layers_are_named_with_the_ones_that_have_weights():
    model, x = tiny_model(), images()
    assert randomisable_layers(model) == ["head", "top", "conv"]
    with pytest.raises(ValueError, match=r"\['relu'\] have no weights .* \['head', 'top', "):
        sanity_check(model, x, layers=["relu"])
    with pytest.raises(ValueError, match="between 1 and 3"):
        sanity_check(model, x, layers=4)


def test_similarities_match_references():
    rng = np.random.default_rng(2)
    a = rng.random((3, 16, 16))
    b = a + 0.3 * rng.random((3, 16, 16))
    b[2] = rng.random((16, 16))
    for i in range(3):
        assert spearman(a, b)[i] == pytest.approx(spearmanr(a[i].ravel(), b[i].ravel())
                                                  .statistic)
        cell = dict(orientations=9, pixels_per_cell=(2, 2), cells_per_block=(2, 2))
        want = np.corrcoef(hog(a[i], **cell), hog(b[i], **cell))[0, 1]
        assert hog_similarity(a, b)[i] == pytest.approx(want)
    assert pearson(np.ones((1, 4)), np.arange(4.0)[None]).tolist() == [0.0]  # constant
    np.testing.assert_allclose(ssim(a, a), 1.0)
    assert ssim(a, b)[0] > ssim(a, b)[2]  # a noisy copy is closer than a random map


@pytest.mark.slow  # the shipped model, or PyTorch + zennit imported: make test runs it
def test_shapes_model_gradcam_and_saliency_forget_guided_backprop_does_not():
    """Adebayo et al.'s finding on the shipped model: once the head and the last conv
    block are random, the signed maps of Grad-CAM and saliency no longer correlate with
    the originals, guided backprop's barely change (medians over 16 images; measured
    on TensorFlow, JAX and torch: Grad-CAM -0.09/0.08/0.06, saliency 0.06/-0.09/0.07,
    guided backprop 0.80/0.80/0.81; guided backprop's SSIM 0.92/0.92/0.93)."""
    model, data = shapes_model(), make_shapes(16, seed=7)
    checks = {method: sanity_check(model, data.images, method=method, layers=3)
              for method in ("gradcam", "saliency", "guided_backprop")}
    assert checks["gradcam"].layers == ("predictions", "conv4_bn", "conv4")
    median = {m: float(np.median(c.spearman[2])) for m, c in checks.items()}
    assert abs(median["gradcam"]) < 0.2 and abs(median["saliency"]) < 0.2, median
    assert median["guided_backprop"] > 0.7, median
    assert np.median(checks["guided_backprop"].ssim[2]) > 0.85
