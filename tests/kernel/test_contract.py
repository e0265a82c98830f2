"""Every registered method against every model: the contract of `explain`."""
from __future__ import annotations

import gc
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain, list_layers
from cam_widgets.kernel.explain import compiled_functions
from cam_widgets.kernel.lrp_plan import lrp_plan
from cam_widgets.kernel.methods import get_method, method_names
from tests.helpers import fingerprint
from tests.kernel.zoo import HUB, MORE_ZOO, hub_model, zoo_model
from tests.kernel.helpers import RAMP, scale_gap_dense, siamese, small_cnn
from tests.kernel.vit_models import TinyViT, images as vit_images

# Small settings for the perturbation methods, so the table stays cheap on the zoo.
METHOD_OPTIONS = {"smoothgrad": {"n_samples": 2}, "scorecam": {"max_channels": 3},
                  "integrated_gradients": {"steps": 3}}
NEEDS_ATTENTION = {"attention_rollout"}  # refused with a clear error by other models
NEEDS_RULES = {"lrp"}  # refuses, by name, a model with a layer that has no LRP rule


def has_lrp_rules(model) -> bool:
    try:
        lrp_plan(model)
    except ValueError:
        return False
    return True


def method_options(method: str, side: int) -> dict:
    """METHOD_OPTIONS, and occlusion windows of a third of the image side (9 windows)."""
    if method == "occlusion":
        return {"window": max(1, side // 3)}
    return METHOD_OPTIONS.get(method, {})


def check_contract(model, images, method, **kwargs):
    batch = images[0] if isinstance(images, list) else images
    before = fingerprint(model, images)
    if method in NEEDS_ATTENTION and not any(
            isinstance(layer, keras.layers.MultiHeadAttention) for layer in model.layers):
        with pytest.raises(ValueError, match="no keras.layers.MultiHeadAttention"):
            explain(model, images, method=method, **kwargs)
        assert fingerprint(model, images) == before, "explain changed the model"
        return None
    if method in NEEDS_RULES and not has_lrp_rules(model):  # ViTs, swish, separable convs
        with pytest.raises(ValueError, match="LRP cannot explain layer .* Layers with a rule"):
            explain(model, images, method=method, **kwargs)
        assert fingerprint(model, images) == before, "explain changed the model"
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # coverage warnings: tested elsewhere
        res = explain(model, images, method=method, **method_options(method, batch.shape[1]),
                      **kwargs)
    n, height, width = batch.shape[:3]
    assert res.maps.shape == (n, height, width) and res.maps.dtype == np.float32
    assert np.isfinite(res.maps).all() and res.maps.min() >= 0 and res.maps.max() <= 1
    assert np.isfinite(res.raw).all() and res.raw.dtype == np.float32
    assert res.targets.shape == (n,) and res.targets.dtype == np.int64
    assert res.scores.shape == (n,) and np.isfinite(res.scores).all()
    assert res.method == method
    if get_method(method).uses_layer:
        assert res.raw.shape[0] == n and res.raw.ndim in (3, 4)
        assert res.layer in {info.path for info in list_layers(model)}
    elif method in NEEDS_ATTENTION:  # on the patch grid
        assert res.raw.ndim == 3 and res.raw.shape[0] == n and res.layer is None
    else:
        assert res.raw.shape == batch.shape and res.layer is None
    assert fingerprint(model, images) == before, "explain changed the model"
    return res


def check_default_layer_before_collapse(model, res):
    """The default layer has a map of at least 2x2 positions (or of unknown size), and
    every layer listed after it has collapsed space (a 1x1 map or no spatial axes)."""
    infos = list_layers(model)
    paths = [info.path for info in infos]
    chosen = infos[paths.index(res.layer)]
    assert chosen.spatial and all(s is None or s >= 2 for s in chosen.output_shape[1:3])
    later = [i for i in infos[paths.index(res.layer) + 1:] if i.spatial]
    assert all(i.output_shape[1:3] == (1, 1) for i in later), later
    if len(model.outputs[0].shape) == 2:  # a classifier: space collapses after it
        assert (res.raw.reshape(len(res.raw), -1).std(axis=1) > 0).all(), "a constant map"


# Methods that run the model on many perturbed copies in a loop trace the model two or
# three times; on three architectures (plain convs, residual, depthwise + ReLU6) they
# cost what the whole zoo costs the others.
PERTURBATION = ("scorecam", "integrated_gradients", "occlusion")
PERTURBATION_ZOO = ("resnet50", "vgg16", "mobilenetv2")


def check_zoo_contract(model, method):
    size = model.inputs[0].shape[1]
    images = np.random.default_rng(0).random((2, size, size, 3), np.float32)
    res = check_contract(model, images, method, target=[3, 7])
    if res is not None and method != "smoothgrad":  # SmoothGrad picks noise; the others are deterministic
        assert res.targets.tolist() == [3, 7]
    if method == "gradcam":
        check_default_layer_before_collapse(model, res)


# The other keras.applications families and keras-hub models run the two paths every
# method builds on (a CAM at the default layer, the input gradient), not all seven
# methods: seven traces of NASNet or InceptionResNetV2 would cost minutes. The three
# heaviest (20-40 s each on 2 busy cores) run the CAM path only.
_HEAVY = ("convnexttiny", "nasnetmobile", "inceptionresnetv2")


@pytest.mark.slow
@pytest.mark.zoo
@pytest.mark.parametrize("name, method", [
    (name, method) for name in MORE_ZOO for method in ("gradcam", "saliency")
    if not (name in _HEAVY and method == "saliency")])
def test_every_application_family(name, method):
    model = zoo_model(name)
    size = model.inputs[0].shape[1]
    images = np.random.default_rng(0).random((1, size, size, 3), np.float32)
    res = check_contract(model, images, method, target=[7])
    assert res.targets.tolist() == [7]
    if method == "gradcam":
        check_default_layer_before_collapse(model, res)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gradcam", "saliency"])
@pytest.mark.parametrize("name", HUB)
def test_keras_hub_models(name, method):
    model = hub_model(name)
    height, width = (s or 32 for s in model.inputs[0].shape[1:3])
    images = np.random.default_rng(0).random((2, height, width + 8, 3), np.float32)
    if model.inputs[0].shape[2] is not None:
        images = images[:, :, :width]
    kwargs = {"target": [1, 2]}
    if len(model.outputs[0].shape) == 4:  # a backbone: explain its mean feature 0
        kwargs = {"target": lambda out: tf.reduce_mean(out[..., 0], axis=[1, 2])}
    res = check_contract(model, images, method, **kwargs)
    if method == "gradcam":
        check_default_layer_before_collapse(model, res)


@pytest.mark.slow
@pytest.mark.zoo
@pytest.mark.parametrize("method", [m for m in method_names() if m not in PERTURBATION])
def test_zoo_contract(zoo, method):
    check_zoo_contract(zoo, method)


@pytest.mark.slow
@pytest.mark.zoo
@pytest.mark.parametrize("method", [m for m in method_names() if m in PERTURBATION])
@pytest.mark.parametrize("name", PERTURBATION_ZOO)
def test_zoo_contract_perturbation_methods(name, method):
    check_zoo_contract(zoo_model(name), method)


SEED_MODELS = {
    "hand_set": lambda: (scale_gap_dense("softmax"), RAMP, {}),
    "mnist_cnn": lambda: (small_cnn(), np.random.default_rng(1).random((3, 28, 28, 1), np.float32), {}),
    "siamese": lambda: (siamese(), [np.random.default_rng(i).random((2, 16, 16, 3), np.float32)
                                    for i in (2, 3)], {"target": lambda out: out[:, 0], "input_index": 1}),
    "vit_mean": lambda: (TinyViT("mean").model, vit_images(2), {}),
    "vit_class_token": lambda: (TinyViT("token").model, vit_images(2), {"target": [0, 2]}),
}


# Tracing a transformer for each of the methods costs more than the rest of the quick
# loop's contract rows together: the ViT rows are slow (test_tokens.py runs every CAM
# method on token layers in the quick loop).
@pytest.mark.parametrize("method", method_names())
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name.startswith("vit") else name
    for name in SEED_MODELS])
def test_seed_model_contract(name, method):
    model, images, kwargs = SEED_MODELS[name]()
    check_contract(model, images, method, **kwargs)


def test_explanations_use_current_weights():
    model = scale_gap_dense()
    first = explain(model, RAMP, target=1)
    model.get_layer("head").set_weights([np.array([[2.0, 1.0], [1.0, -1.0]]), np.zeros(2)])
    second = explain(model, RAMP, target=1)
    np.testing.assert_allclose(first.raw[0], 3 * RAMP[0, ..., 0] / 9, rtol=1e-6)
    np.testing.assert_allclose(second.raw[0], -1 * RAMP[0, ..., 0] / 9, rtol=1e-6)  # 1 - 2


def test_one_trace_per_shape_family_across_calls_and_batch_sizes():
    model = small_cnn()
    rng = np.random.default_rng(4)
    for batch in (1, 5, 2, 7):
        explain(model, rng.random((batch, 28, 28, 1), np.float32), target=1)
    explain(model, rng.random((40, 28, 28, 1), np.float32), batch_size=16)
    (function,) = compiled_functions(model).values()
    assert function.experimental_get_tracing_count() == 1


def test_compiled_functions_are_cached_weakly():
    model = small_cnn()
    explain(model, np.zeros((1, 28, 28, 1), np.float32))
    ref = __import__("weakref").ref(model)
    del model
    gc.collect()
    assert ref() is None, "the function cache keeps the model alive"


def test_batched_explain_equals_one_batch():
    model = small_cnn()
    images = np.random.default_rng(5).random((10, 28, 28, 1), np.float32)
    whole = explain(model, images, method="saliency")
    pieces = explain(model, images, method="saliency", batch_size=3)
    np.testing.assert_allclose(whole.raw, pieces.raw, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam"])
def test_head_only_from_activations_equals_full(method):
    model = small_cnn()
    images = np.random.default_rng(6).random((3, 28, 28, 1), np.float32)
    full = explain(model, images, method=method, layer="conv2", target=[1, 2, 3])
    again = explain(model, images, method=method, layer="conv2", target=[4, 5, 6])
    head = explain(model, images, method=method, layer="conv2", target=[4, 5, 6],
                   activations=full.activations)
    np.testing.assert_allclose(head.maps, again.maps, atol=1e-6)
    np.testing.assert_allclose(head.scores, again.scores, rtol=1e-5)


def test_model_unchanged_when_a_target_fails_midway():
    model = small_cnn()
    images = np.random.default_rng(7).random((2, 28, 28, 1), np.float32)
    before = fingerprint(model, images)

    def broken(outputs):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        explain(model, images, target=broken)
    assert fingerprint(model, images) == before
    assert explain(model, images).maps.shape == (2, 28, 28)


def test_accepts_tensor_pil_and_path(tmp_path):
    from PIL import Image

    model = small_cnn()
    pixels = (np.random.default_rng(8).random((28, 28)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "digit.png")
    with pytest.warns(UserWarning, match="does not rescale them"):  # once per model
        from_array = explain(model, pixels[..., None].astype(np.float32))
    from_tensor = explain(model, tf.constant(pixels[None, ..., None], tf.float32))
    from_pil = explain(model, Image.fromarray(pixels))
    from_path = explain(model, tmp_path / "digit.png")
    for other in (from_tensor, from_pil, from_path):
        np.testing.assert_allclose(other.maps, from_array.maps, atol=1e-6)


def test_list_layers_paths_shapes_and_spatial():
    inputs = keras.Input((32, 32, 3))
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(keras.layers.Flatten(name="flatten")(vgg(inputs))))
    infos = {info.path: info for info in list_layers(model)}
    conv = infos["vgg16/block5_conv3"]
    assert (conv.class_name, conv.output_shape, conv.spatial) == ("Conv2D", (None, 2, 2, 512), True)
    assert infos["flatten"].spatial is False
    assert list(infos)[-1] == "head"


def test_softmax_inside_a_nested_classifier_is_removed_for_logits():
    classifier = small_cnn()
    inputs = keras.Input((28, 28, 1))
    wrapped = keras.Model(inputs, classifier(inputs))
    images = np.random.default_rng(9).random((2, 28, 28, 1), np.float32)
    res = explain(wrapped, images, method="saliency", target=3)
    dense = classifier.get_layer("predictions")
    body = keras.Model(classifier.inputs[0], dense.input)
    expected_logit = (body(images).numpy() @ dense.kernel.numpy() + dense.bias.numpy())[:, 3]
    np.testing.assert_allclose(res.scores, expected_logit, rtol=1e-5)
    np.testing.assert_allclose(res.predictions, classifier(images).numpy(), rtol=1e-5)


def two_headed():
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs))
    return keras.Model(inputs, [keras.layers.Dense(3, name="a")(features),
                                keras.layers.Dense(5, activation="softmax", name="b")(features)])


def test_multi_output_callable_target_gets_every_output():
    model = two_headed()
    images = np.random.default_rng(10).random((2, 28, 28, 1), np.float32)
    seen = []

    def second_head_class_4(outputs):
        seen.append([tuple(o.shape[1:]) for o in outputs])
        return outputs[1][:, 4]

    res = explain(model, images, target=second_head_class_4)
    assert seen == [[(3,), (5,)]]
    assert res.predictions is None and res.targets.tolist() == [-1, -1]
    with pytest.raises(ValueError, match="2 outputs, so a class index is ambiguous"):
        explain(model, images, target=1)


def test_dataset_with_one_hot_labels():
    model = small_cnn()
    images = np.random.default_rng(12).random((4, 28, 28, 1), np.float32)
    one_hot = np.eye(10, dtype=np.float32)[[1, 5, 7, 9]]
    dataset = tf.data.Dataset.from_tensor_slices((images, one_hot)).batch(2)
    from cam_widgets import explain_dataset
    targets = [r.targets.tolist() for r in explain_dataset(model, dataset, target="label")]
    assert targets == [[1, 5], [7, 9]]
