"""Models and inputs users bring (pooled heads, layers called twice, mixed precision,
channels_first, bare ops, callable and segmentation targets, hidden softmaxes, subclassed
and Keras 2 models, sigmoid heads, grey and unscaled pixels, inline lambdas), one test
each, plus the shape rule of `ExplainResult`. Each test states the result it expects, or
the error it expects and the remedy that error names (tested to work)."""
from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain, explain_dataset, list_layers
from cam_widgets.kernel.explain import compiled_functions
from cam_widgets.kernel.methods import get_method, method_names
from tests.kernel import reference as ref
from tests.kernel.zoo import zoo_model
from tests.kernel.helpers import small_cnn

RNG = np.random.default_rng(110)
OPTIONS = {"smoothgrad": {"n_samples": 2}}


def spatial_after(model, path):
    """Output shapes of the spatial layers listed after `path`."""
    paths = [info.path for info in list_layers(model)]
    return [info.output_shape for info in list_layers(model)[paths.index(path) + 1:]
            if info.spatial]


# default layer before the spatial collapse ---------------------------------------------
@pytest.mark.slow
@pytest.mark.zoo
@pytest.mark.parametrize("name", ["mobilenet", "mobilenetv3small"])
def test_default_layer_is_before_keepdims_pooling(name):
    model = zoo_model(name)
    size = model.inputs[0].shape[1]
    images = RNG.random((2, size, size, 3), np.float32)
    res = explain(model, images, target=1)
    if name == "mobilenet":
        assert res.layer == "conv_pw_13_relu"
    shape = {i.path: i.output_shape for i in list_layers(model)}[res.layer]
    assert shape[1:3] == (2, 2)
    after = spatial_after(model, res.layer)  # pooling and the 1x1 conv head
    assert after and all(s[1:3] == (1, 1) for s in after)
    assert (res.raw.reshape(2, -1).std(axis=1) > 0).all(), "a constant map"


# every call of a layer addressable -----------------------------------------------------
def twice_called_backbone() -> keras.Model:
    """One nested backbone called on the image and on a half-size copy."""
    backbone = keras.Sequential([keras.Input((None, None, 3)),
                                 keras.layers.Conv2D(4, 3, padding="same", name="conv")],
                                name="backbone")
    inputs = keras.Input((16, 16, 3))
    small = keras.layers.Resizing(8, 8, name="half")(inputs)
    pooled = [keras.layers.GlobalAveragePooling2D()(backbone(x)) for x in (inputs, small)]
    outputs = keras.layers.Dense(3, name="head")(keras.layers.Concatenate()(pooled))
    return keras.Model(inputs, outputs, name="twice")


def test_each_call_of_a_twice_called_layer_is_addressable():
    model = twice_called_backbone()
    images = RNG.random((2, 16, 16, 3), np.float32)
    default = explain(model, images, target=0)
    assert default.layer in ("backbone/conv:0", "backbone/conv:1")
    again = explain(model, images, target=0, layer=default.layer)
    np.testing.assert_allclose(again.maps, default.maps, atol=1e-6)
    full, half = (explain(model, images, target=0, layer=f"backbone/conv:{n}") for n in (0, 1))
    assert {full.raw.shape[1:], half.raw.shape[1:]} == {(16, 16), (8, 8)}
    # the plain path is the last call on the branch, as the default
    plain = explain(model, images, target=0, layer="backbone/conv")
    np.testing.assert_allclose(plain.maps, default.maps, atol=1e-6)
    assert plain.layer == default.layer
    # the half-size call against an independent computation
    half_call = full if full.raw.shape[1:] == (8, 8) else half
    conv = model.get_layer("backbone").get_layer("conv")
    dense = model.get_layer("head")

    def head_of_half(acts):
        first = tf.reduce_mean(conv(tf.convert_to_tensor(images)), axis=[1, 2])
        return dense(tf.concat([first, tf.reduce_mean(acts, axis=[1, 2])], axis=1))

    expected = ref.gradcam(lambda x: conv(tf.image.resize(x, (8, 8))), head_of_half, images,
                           ref.class_score(0))
    np.testing.assert_allclose(half_call.maps, expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"no call 5.*backbone/conv:0, backbone/conv:1"):
        explain(model, images, layer="backbone/conv:5")


# mixed precision -----------------------------------------------------------------------
@pytest.fixture
def mixed_precision():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.mark.slow  # every method traced twice (float16 and float32)
def test_every_method_works_under_mixed_precision(mixed_precision):
    model = small_cnn()  # float16 compute, a float16 Dense softmax head
    assert model.get_layer("predictions").compute_dtype == "float16"
    keras.mixed_precision.set_global_policy("float32")
    twin = small_cnn()
    twin.set_weights(model.get_weights())
    images = RNG.random((2, 28, 28, 1), np.float32)
    # attention_rollout reads attention layers, which this CNN has none of
    for method in [name for name in method_names() if name != "attention_rollout"]:
        res = explain(model, images, method=method, target=[2, 5], **OPTIONS.get(method, {}))
        for field in (res.maps, res.raw, res.scores, res.predictions):
            assert field.dtype == np.float32 and np.isfinite(field).all(), method
        exact = explain(twin, images, method=method, target=[2, 5], **OPTIONS.get(method, {}))
        np.testing.assert_allclose(res.scores, exact.scores, rtol=2e-2, atol=2e-2)
        if get_method(method).uses_layer:
            np.testing.assert_allclose(res.maps, exact.maps, atol=0.1, err_msg=method)
        else:  # pixel gradients in float16: a few pixels near a ReLU kink flip
            close = np.abs(res.maps - exact.maps) <= 0.1
            assert close.mean() >= 0.98, (method, close.mean())
            assert np.corrcoef(res.maps.ravel(), exact.maps.ravel())[0, 1] > 0.95, method


# channels_first ------------------------------------------------------------------------
def test_channels_first_is_refused_and_the_rebuild_works():
    def build(data_format):
        shape = (1, 8, 8) if data_format == "channels_first" else (8, 8, 1)
        inputs = keras.Input(shape)
        x = keras.layers.Conv2D(3, 3, data_format=data_format, name="conv")(inputs)
        x = keras.layers.GlobalAveragePooling2D(data_format=data_format)(x)
        return keras.Model(inputs, keras.layers.Dense(2, name="head")(x))

    old = build("channels_first")
    with pytest.raises(ValueError, match=r"channels_first layers \(the first: 'conv'.*"
                                         r"data_format='channels_last'.*set_weights"):
        explain(old, np.zeros((1, 1, 8, 8), np.float32))
    new = build("channels_last")
    new.set_weights(old.get_weights())
    images = RNG.random((2, 8, 8, 1), np.float32)
    res = explain(new, images, method="saliency", target=1)
    np.testing.assert_allclose(res.scores, new(images).numpy()[:, 1], rtol=1e-5)
    assert res.maps.shape == (2, 8, 8)


# guided ReLU on a bare keras.ops.relu --------------------------------------------------
def ops_relu_model() -> keras.Model:
    """x (2x2x1) -> Conv 1x1 [1, -1] -> keras.ops.relu -> GAP -> Dense(1) W = [1, -1]."""
    inputs = keras.Input((2, 2, 1))
    x = keras.ops.relu(keras.layers.Conv2D(2, 1, name="split")(inputs))
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(x))
    model.get_layer("split").set_weights([np.array([[[[1.0, -1.0]]]]), np.zeros(2)])
    model.get_layer("head").set_weights([np.array([[1.0], [-1.0]]), np.zeros(1)])
    return model


def test_bare_ops_relu_is_guided_and_reported():
    model = ops_relu_model()
    image = np.array([[1.0, -1.0], [2.0, -3.0]], np.float32).reshape(1, 2, 2, 1)
    vanilla = explain(model, image, method="saliency", target=0)
    guided = explain(model, image, method="guided_backprop", target=0)
    np.testing.assert_allclose(vanilla.raw[0, ..., 0], [[0.25, 0.25], [0.25, 0.25]])
    # guided: the second channel's incoming gradient is negative, so only x > 0 passes
    np.testing.assert_allclose(guided.raw[0, ..., 0], [[0.25, 0], [0.25, 0]])
    assert guided.guided_coverage.complete
    assert [p for p in guided.guided_coverage.guided if p.startswith("relu")]
    # tf.nn.relu cannot be a node of a Keras 3 graph; inside a Lambda it is reported
    with pytest.raises(ValueError, match="KerasTensor cannot be used as input to a TensorFlow"):
        tf.nn.relu(keras.Input((2, 2, 1)))
    inputs = keras.Input((2, 2, 1))
    x = keras.layers.Lambda(tf.nn.relu, name="hidden")(keras.layers.Conv2D(2, 1)(inputs))
    hidden = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten(name="flat")(x)))
    with pytest.warns(UserWarning, match="partly vanilla"):
        res = explain(hidden, image, method="guided_backprop")
    assert "hidden" in dict(res.guided_coverage.vanilla)
    assert not res.guided_coverage.complete


# a callable target must give one scalar per image --------------------------------------
@pytest.mark.parametrize("target, pattern", [
    (lambda out: out, r"returned a tensor of shape \(None, 10\); it must return one scalar"),
    (lambda out: tf.reduce_sum(out), r"shape \(\); it must return one scalar per image"),
    (lambda out: out[0], r"returned 10 scores for 2 images"),
])
def test_callable_target_must_return_one_scalar_per_image(target, pattern):
    images = RNG.random((2, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match=pattern):
        explain(small_cnn(), images, target=target)


def test_callable_target_of_shape_b_1_is_accepted():
    model = small_cnn()
    images = RNG.random((2, 28, 28, 1), np.float32)
    column = explain(model, images, target=lambda out: out[:, 3:4])
    np.testing.assert_allclose(column.scores, explain(model, images, target=3).scores, rtol=1e-6)


# an int target on an output that is not (batch, classes) -------------------------------
def segmenter() -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(3, 1, name="classes")(x))


@pytest.mark.parametrize("target", [1, 5, None])
def test_int_target_on_a_dense_output_points_to_a_callable(target):
    with pytest.raises(ValueError, match=r"output of shape \(None, 8, 8, 3\), not \(batch, "
                                         r"classes\).*callable target.*SegmentationTarget"):
        explain(segmenter(), np.zeros((1, 8, 8, 3), np.float32), target=target)


def test_the_callable_suggested_for_a_dense_output_works():
    model = segmenter()
    images = RNG.random((2, 8, 8, 3), np.float32)
    res = explain(model, images, method="saliency",
                  target=lambda out: tf.reduce_mean(out[..., 1], axis=[1, 2]))
    np.testing.assert_allclose(res.scores, model(images).numpy()[..., 1].mean(axis=(1, 2)),
                               rtol=1e-5)


# logits=True with a softmax hidden in an opaque layer ----------------------------------
class SoftmaxClassifier(keras.Model):
    def __init__(self):
        super().__init__(name="opaque_classifier")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.dense = keras.layers.Dense(4, activation="softmax")

    def call(self, x):
        return self.dense(self.pool(x))


def hidden_softmax() -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(5, 3, activation="relu", name="conv")(inputs)
    return keras.Model(inputs, SoftmaxClassifier()(features))


def test_softmax_in_an_opaque_layer_is_named_in_a_warning():
    model = hidden_softmax()
    images = RNG.random((2, 8, 8, 3), np.float32)
    with pytest.warns(UserWarning, match=r"'opaque_classifier' \(SoftmaxClassifier\) looks "
                                         r"like probabilities"):
        res = explain(model, images, target=1)
    np.testing.assert_allclose(res.scores, model(images).numpy()[:, 1], rtol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain(model, images, target=1, logits=False)  # probabilities asked for: silent
        explain(small_cnn(), RNG.random((1, 28, 28, 1), np.float32))  # softmax reached


# subclassed and Keras-2 models ---------------------------------------------------------
class SubclassedNet(keras.Model):
    def __init__(self):
        super().__init__(name="net")
        self.conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        self.dense = keras.layers.Dense(3, name="dense")

    def call(self, x):
        return self.dense(self.pool(self.conv(x)))


def test_subclassed_model_error_and_both_remedies_work():
    net = SubclassedNet()
    images = RNG.random((2, 10, 10, 3), np.float32)
    net(images)
    with pytest.raises(TypeError, match=r"SubclassedNet 'net' has no layer graph.*"
                                        r"keras.Input\(\(10, 10, 3\)\).*model\(inputs\)"):
        explain(net, images)
    with pytest.raises(TypeError, match="SubclassedNet 'net' has no layer graph"):
        next(explain_dataset(net, tf.data.Dataset.from_tensor_slices(images).batch(1)))
    # remedy 1, as the message spells it: wrap for gradient methods
    inputs = keras.Input((10, 10, 3))
    wrapped = keras.Model(inputs, net(inputs))
    res = explain(wrapped, images, method="saliency", target=2)
    expected = ref.input_gradient(net, images, ref.class_score(2))
    np.testing.assert_allclose(res.raw, expected, rtol=1e-5, atol=1e-7)
    # remedy 2: the same layers called functionally, for a CAM method
    rebuilt = keras.Model(inputs, net.dense(net.pool(net.conv(inputs))))
    cam = explain(rebuilt, images, target=2)
    assert cam.layer == "conv"
    features = lambda x: net.conv(x)  # noqa: E731
    head = lambda a: net.dense(net.pool(a))  # noqa: E731
    np.testing.assert_allclose(cam.maps, ref.gradcam(features, head, images,
                                                     ref.class_score(2)), atol=1e-5)


def test_keras2_model_error_and_the_h5_remedy_works(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")  # in the test extra; skipped only without it
    inputs = tf_keras.Input((8, 8, 3))
    x = tf_keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = tf_keras.layers.GlobalAveragePooling2D()(x)
    old = tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax", name="head")(x))
    images = RNG.random((2, 8, 8, 3), np.float32)
    with pytest.raises(TypeError, match=r"tf_keras.*not a Keras 3 model.*save\('model.h5'\)"
                                        r".*keras.models.load_model"):
        explain(old, images)
    with warnings.catch_warnings():  # tf_keras: "HDF5 is legacy"; keras: input names
        warnings.simplefilter("ignore", UserWarning)
        old.save(tmp_path / "model.h5")
        model = keras.models.load_model(tmp_path / "model.h5")
        np.testing.assert_allclose(model(images).numpy(), old(images).numpy(), rtol=1e-5)
    res = explain(model, images, target=1)
    assert res.layer == "conv" and res.maps.shape == (2, 8, 8)


def test_an_object_that_is_no_model_is_named():
    with pytest.raises(TypeError, match=r"`model` is a builtins.dict, not a Keras 3 model"):
        explain({}, np.zeros((1, 8, 8, 3), np.float32))


# binary sigmoid head -------------------------------------------------------------------
def binary_head() -> keras.Model:
    """GAP -> Dense(1, sigmoid) with weight 1: the logit is the image's mean."""
    inputs = keras.Input((2, 2, 1))
    x = keras.layers.Conv2D(1, 1, use_bias=False, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="head")(x))
    model.get_layer("conv").set_weights([np.ones((1, 1, 1, 1))])
    model.get_layer("head").set_weights([np.ones((1, 1)), np.zeros(1)])
    return model


def test_sigmoid_head_predicts_by_its_logit_sign_and_takes_targets_0_and_1():
    model = binary_head()
    images = np.array([[1.0, 2.0, 3.0, 2.0], [-1.0, -2.0, 0.0, -1.0]],
                      np.float32).reshape(2, 2, 2, 1)  # logits 2 and -1
    res = explain(model, images, method="saliency")
    assert res.targets.tolist() == [1, 0]
    np.testing.assert_allclose(res.scores, [2.0, 1.0])  # the logit, minus the logit
    np.testing.assert_allclose(res.raw[..., 0], [np.full((2, 2), 0.25), np.full((2, 2), -0.25)])
    np.testing.assert_allclose(explain(model, images, target=1).scores, [2.0, -1.0])
    np.testing.assert_allclose(explain(model, images, target=0).scores, [-2.0, 1.0])
    p = 1 / (1 + np.exp(-np.array([2.0, -1.0])))
    probs = explain(model, images, method="saliency", logits=False)
    np.testing.assert_allclose(probs.scores, [p[0], 1 - p[1]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"Class index 2 is out of range.*2 classes"):
        explain(model, images, target=2)


def test_a_one_unit_regression_output_is_one_class():
    inputs = keras.Input((2, 2, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(1, 1, name="conv")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    images = -np.ones((1, 2, 2, 1), np.float32)
    res = explain(model, images, method="saliency")
    np.testing.assert_allclose(res.scores, model(images).numpy()[:, 0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"Class index 1 is out of range.*1 classes"):
        explain(model, images, target=1)


# inputs --------------------------------------------------------------------------------
def rgb_model() -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3, name="conv")(inputs))
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pytest.mark.parametrize("images, pattern", [
    (np.zeros((8, 8, 4)), r"3 channel\(s\); got \(8, 8, 4\).*Drop the alpha channel"),
    (np.zeros((2, 8, 8, 1)), r"got \(8, 8, 1\).*Repeat the grey channel"),
    (np.zeros((2, 8, 8)), r"got \(8, 8, 1\).*Repeat the grey channel"),
])
def test_channel_mismatch_gets_channel_advice(images, pattern):
    with pytest.raises(ValueError, match=pattern) as error:
        explain(rgb_model(), images)
    assert "Resize" not in str(error.value)


def test_grey_batch_without_channel_axis_is_a_batch():
    model = small_cnn()
    grey = RNG.random((3, 28, 28), np.float32)
    res = explain(model, grey, target=1)
    np.testing.assert_allclose(res.maps, explain(model, grey[..., None], target=1).maps)
    one = explain(model, grey[0], target=1)  # (H, W) is one image
    np.testing.assert_allclose(one.maps, res.maps[:1])


def test_pixel_values_without_rescaling_warn_once():
    model = small_cnn()
    pixels = RNG.integers(0, 256, (2, 28, 28, 1)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"whole numbers up to 25[0-9].*does not rescale"):
        explain(model, pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain(model, pixels)  # once per model
        explain(small_cnn(), pixels / 255.0)  # scaled: silent
        inputs = keras.Input((28, 28, 1))
        scaled = keras.Model(inputs, small_cnn()(keras.layers.Rescaling(1 / 255)(inputs)))
        explain(scaled, pixels)  # the model rescales itself: silent


# an inline lambda target is one cache entry --------------------------------------------
def test_inline_lambda_target_reuses_one_compiled_function():
    model = small_cnn()
    images = RNG.random((2, 28, 28, 1), np.float32)
    for _ in range(3):
        explain(model, images, target=lambda out: out[:, 4])
    (function,) = compiled_functions(model).values()
    assert function.experimental_get_tracing_count() == 1
    # the same code closing over different values is a different function
    scores = [explain(model, images, target=lambda out: out[:, k]).scores for k in (1, 2)]
    assert len(compiled_functions(model)) == 3
    for k, got in zip((1, 2), scores):
        np.testing.assert_allclose(got, explain(model, images, target=k).scores, rtol=1e-6)


# The shape rule of ExplainResult -------------------------------------------------------
def test_result_shape_rule_single_top_k_and_several_layers():
    model = small_cnn()
    images = RNG.random((2, 28, 28, 1), np.float32)
    one = explain(model, images, layer="conv2")
    assert (one.maps.shape, one.raw.shape, one.targets.shape, one.scores.shape) == (
        (2, 28, 28), (2, 11, 11), (2,), (2,))
    for k in (1, 3):  # the class axis is there for every k
        top = explain(model, images, layer="conv2", top_k=k)
        assert (top.maps.shape, top.raw.shape, top.targets.shape, top.scores.shape) == (
            (2, k, 28, 28), (2, k, 11, 11), (2, k), (2, k))
    grads = explain(model, images, method="saliency", top_k=2)
    assert grads.raw.shape == (2, 2, 28, 28, 1) and grads.maps.shape == (2, 2, 28, 28)
    many = explain(model, images, layer=["conv1", "conv2"])
    assert many.maps.shape == (2, 2, 28, 28) and many.targets.shape == (2,)
    assert [r.shape for r in many.raw] == [(2, 26, 26), (2, 11, 11)]
    assert [a.shape for a in many.activations] == [(2, 26, 26, 8), (2, 11, 11, 16)]
    single = explain(model, images, layer=["conv2"])  # a list of one keeps the axis
    assert single.maps.shape == (2, 1, 28, 28) and isinstance(single.raw, list)


# Knowledge that lives once -------------------------------------------------------------
def test_one_image_or_batch_rule():
    from PIL import Image

    from cam_widgets.kernel import load_image, split_images

    rgb, grey = np.zeros((5, 6, 3), np.uint8), np.zeros((5, 6), np.uint8)
    assert len(split_images(rgb)) == 1 and len(split_images(np.stack([rgb] * 4))) == 4
    assert len(split_images(grey)) == 1  # (H, W): one grey image
    assert len(split_images(np.zeros((4, 5, 6)))) == 4  # last axis not a channel count
    assert len(split_images(np.zeros((4, 5, 3)), channels=1)) == 4  # grey model: a batch
    assert len(split_images(np.zeros((4, 5, 1)), channels=1)) == 1
    assert len(split_images([Image.fromarray(rgb)] * 2)) == 2
    assert len(split_images(tf.zeros((2, 5, 6, 3)))) == 2
    assert load_image(Image.fromarray(rgb), channels=1).shape == (5, 6, 1)
    assert load_image(Image.fromarray(grey), channels=4).shape == (5, 6, 4)
    assert load_image(Image.fromarray(rgb)).dtype == np.uint8
    assert load_image(grey).shape == (5, 6, 1)


def test_class_count_and_probability_test():
    from cam_widgets.kernel import class_count, looks_like_probabilities

    assert class_count(small_cnn()) == 10
    assert class_count(binary_head()) == 2
    assert class_count(segmenter()) is None
    assert looks_like_probabilities(np.array([[0.2, 0.8], [1.0, 0.0]]))
    assert not looks_like_probabilities(np.array([[0.2, 0.7]]))
    assert not looks_like_probabilities(np.array([[2.0, -1.0]]))
    assert not looks_like_probabilities(np.array([[1.0]]))


def test_private_keras_names_only_in_graph_module():
    import pathlib

    import cam_widgets

    package = pathlib.Path(cam_widgets.__file__).parent
    users = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                   if "keras.src" in p.read_text())
    assert users == ["kernel/graph.py"]
