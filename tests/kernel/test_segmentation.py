"""SegmentationTarget (Seg-Grad-CAM): a class's logits summed over a region, on a tiny
U-Net, against a reference computed here with GradientTape on the split model."""
from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import cam_widgets
from cam_widgets import SegmentationTarget, explain
from cam_widgets.kernel.explain import compiled_functions
from tests.kernel import reference
from tests.kernel.vit_models import images, tiny_unet

X = images(4, seed=5)


@pytest.fixture(scope="module")
def unet() -> keras.Model:
    return tiny_unet()


def _split(unet):
    """features: images -> 'mid' output; head: mid -> class logits (skip held fixed)."""
    skip = unet.get_layer("enc")(tf.constant(X))
    mid = unet.get_layer("mid")
    seg = unet.get_layer("seg")

    def features(batch):
        return mid(unet.get_layer("down")(unet.get_layer("enc")(batch)))

    def logits(acts):
        merged = unet.get_layer("merge")([unet.get_layer("up")(acts), skip])
        return tf.matmul(unet.get_layer("dec")(merged), seg.kernel[0, 0]) + seg.bias

    return features, logits


def _logits(unet) -> np.ndarray:
    features, logits = _split(unet)
    return logits(features(tf.constant(X))).numpy()


def _region_score(masks):
    def score(logits):
        return tf.reduce_sum(logits[..., 1] * masks, axis=[1, 2])
    return score


def test_predicted_region_equals_reference(unet):
    features, logits = _split(unet)
    predicted = (_logits(unet).argmax(-1) == 1).astype(np.float32)
    assert 0 < predicted.sum() < predicted.size  # the class has some pixels, not all
    res = explain(unet, X, layer="mid", target=SegmentationTarget(1))
    expected = reference.gradcam(features, logits, X, _region_score(predicted))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)
    np.testing.assert_allclose(res.scores, (_logits(unet)[..., 1] * predicted).sum((1, 2)),
                               rtol=1e-5)
    assert res.targets.tolist() == [1, 1, 1, 1]
    assert cam_widgets.SegmentationTarget is SegmentationTarget


def test_given_masks_one_for_all_and_one_per_image_across_batches(unet):
    features, logits = _split(unet)
    box = np.zeros((16, 16), np.float32)
    box[2:7, 9:15] = 1
    res = explain(unet, X, layer="mid", target=SegmentationTarget(1, mask=box))
    expected = reference.gradcam(features, logits, X, _region_score(box))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)
    other = explain(unet, X, layer="mid", target=SegmentationTarget(1, mask=1 - box))
    assert np.abs(other.maps - res.maps).max() > 0.1  # the region changes the map
    per_image = np.random.default_rng(0).uniform(size=(4, 16, 16)) > 0.5
    res = explain(unet, X, layer="mid", batch_size=3,  # windows of 3 and 1 images
                  target=SegmentationTarget(1, mask=per_image))
    expected = reference.gradcam(features, logits, X,
                                 _region_score(per_image.astype(np.float32)))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)


def test_classes_and_masks_share_one_compiled_function(unet):
    explain(unet, X, layer="enc", target=SegmentationTarget(0, mask=np.ones((16, 16))))
    count = len(compiled_functions(unet))
    explain(unet, X, layer="enc", target=SegmentationTarget(2, mask=np.eye(16)))
    assert len(compiled_functions(unet)) == count


def test_default_layer_and_logits_not_probabilities(unet):
    res = explain(unet, X, target=SegmentationTarget(0))
    assert res.layer == "mid"  # the bottleneck: the last layer at the lowest resolution
    probs = explain(unet, X, target=SegmentationTarget(0), logits=False)
    assert not np.allclose(res.scores, probs.scores)


def test_single_channel_sigmoid_output():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((16, 16, 3))
    feats = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="feats")(inputs)
    flat = keras.layers.Reshape((16, 16))(keras.layers.Conv2D(1, 1, name="logit")(feats))
    model = keras.Model(inputs, keras.layers.Activation("sigmoid", name="prob")(flat))
    logit_layer = model.get_layer("logit")

    def head(acts):
        return (tf.matmul(acts, logit_layer.kernel[0, 0]) + logit_layer.bias)[..., 0]

    pre = head(model.get_layer("feats")(X)).numpy()
    positive = (pre > 0).astype(np.float32)
    res = explain(model, X, layer="feats", target=SegmentationTarget(0))
    np.testing.assert_allclose(res.scores, (pre * positive).sum((1, 2)), rtol=1e-5)
    expected = reference.gradcam(model.get_layer("feats"), head, X,
                                 lambda out: tf.reduce_sum(out * positive, axis=[1, 2]))
    np.testing.assert_allclose(res.maps, expected, atol=1e-5)
    with pytest.raises(ValueError, match="class_index 1 is out of range.*1 class"):
        explain(model, X, target=SegmentationTarget(1))


@pytest.mark.parametrize("target, error, message", [
    (1, ValueError, "dense output of shape \\(None, 16, 16, 3\\).*SegmentationTarget"),
    (None, ValueError, "target=None cannot name one score.*SegmentationTarget"),
    (SegmentationTarget(3), ValueError, "class_index 3 is out of range.*valid 0..2"),
    (SegmentationTarget(0, mask=np.ones((8, 8))), ValueError,
     "mask must be \\(height, width\\) = \\(16, 16\\).*got shape \\(8, 8\\)"),
    (SegmentationTarget(0, mask=np.ones((3, 16, 16))), ValueError, "\\(4, 16, 16\\)"),
])
def test_bad_segmentation_targets(unet, target, error, message):
    with pytest.raises(error, match=message):
        explain(unet, X, target=target)


def test_segmentation_target_needs_a_dense_output():
    from tests.kernel.helpers import RAMP, scale_gap_dense
    with pytest.raises(ValueError, match="needs a model with one dense output"):
        explain(scale_gap_dense(), RAMP, target=SegmentationTarget(0))
    with pytest.raises(TypeError, match="class_index must be an int"):
        SegmentationTarget("cat")


def test_a_class_predicted_nowhere_warns_that_its_region_is_empty():
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(3, 1, name="conv")
    outputs = keras.layers.Softmax(name="softmax")(conv(inputs))
    model = keras.Model(inputs, outputs)
    conv.set_weights([np.eye(3)[None, None], np.array([0.0, 0.5, -100.0])])
    x = np.random.default_rng(2).random((2, 8, 8, 3)).astype(np.float32)
    x[1, :4] = [1.0, 0.0, 0.0]  # image 1 predicts class 0 at the top
    with pytest.warns(UserWarning, match=r"predicts class 2 at no pixel of image\(s\) "
                                         r"\[0, 1\].*\(0, 1\).*mask="):
        empty = explain(model, x, layer="conv", target=SegmentationTarget(2))
    assert not np.any(empty.scores) and not np.any(empty.maps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a predicted class, or a mask: nothing to say
        assert np.all(explain(model, x, layer="conv", target=SegmentationTarget(1)).scores)
        explain(model, x, layer="conv",
                target=SegmentationTarget(2, mask=np.ones((8, 8), np.float32)))
