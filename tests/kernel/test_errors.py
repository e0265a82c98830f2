"""Bad input gets an error that says what was wrong and what would be right."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain, list_layers
from tests.kernel.helpers import siamese, small_cnn

GOOD = np.zeros((2, 28, 28, 1), np.float32)
NAN = GOOD.copy()
NAN[0, 0, 0, 0] = np.nan


def no_spatial_model():
    inputs = keras.Input((8,))
    return keras.Model(inputs, keras.layers.Dense(3)(inputs))


CASES = [
    # (id, call kwargs, error type, message pattern)
    ("rank", dict(images=np.zeros((1, 2, 28, 28, 1))), ValueError, r"shape \(batch, 28, 28, 1\).*got.*\(1, 2, 28, 28, 1\)"),
    ("size", dict(images=np.zeros((2, 32, 28, 1))), ValueError, r"expects images of shape \(28, 28, 1\).*got \(32, 28, 1\)"),
    ("channels", dict(images=np.zeros((2, 28, 28, 3))), ValueError, r"\(28, 28, 1\).*got \(28, 28, 3\)"),
    ("empty", dict(images=np.zeros((0, 28, 28, 1))), ValueError, r"empty batch"),
    ("nan", dict(images=NAN), ValueError, r"1 non-finite values"),
    ("not numbers", dict(images=[["a"]]), TypeError, r"numeric array"),
    ("class range", dict(target=10), ValueError, r"Class index 10 is out of range.*10 classes \(valid 0\.\.9\)"),
    ("negative class", dict(target=[1, -2]), ValueError, r"Class index -2 is out of range"),
    ("target count", dict(target=[1, 2, 3]), ValueError, r"3 class indices for 2 images"),
    ("float target", dict(target=1.5), TypeError, r"int class index"),
    ("bool target", dict(target=True), TypeError, r"int class index"),
    ("unknown layer", dict(layer="conv3"), ValueError, r"No layer 'conv3'.*Did you mean 'conv2', 'conv1'"),
    ("layer index", dict(layer=40), ValueError, r"Layer index 40 is out of range: the model has 5 layers \(valid indices -5\.\.4\)"),
    ("layer type", dict(layer=2.0), TypeError, r"`layer` must be None, a path string"),
    ("foreign layer", dict(layer=keras.layers.Dense(2)), ValueError, r"is not part of model"),
    ("not spatial", dict(layer="predictions"), ValueError, r"'predictions' has output shape \(None, 10\).*needs a spatial layer"),
    ("unknown method", dict(method="gradcampp"), ValueError, r"Unknown method 'gradcampp'\. Did you mean .*'gradcam\+\+'.*Available: gradcam"),
    ("constant target", dict(target=lambda out: tf.ones_like(out[:, 0])), ValueError, r"gradient is None"),
    ("activations for saliency", dict(method="saliency", activations=np.zeros((2, 11, 11, 16))), ValueError, r"only applies to CAM"),
    ("activations shape", dict(layer="conv2", activations=np.zeros((2, 5, 5, 16))), ValueError, r"shape \(2, 11, 11, 16\); got \(2, 5, 5, 16\)"),
    ("input index", dict(input_index=1), ValueError, r"input_index 1 is out of range.*1 input"),
    ("smoothgrad samples", dict(method="smoothgrad", n_samples=0), ValueError, r"Option 'n_samples' of 'smoothgrad' must be int in \[1, 10000\]; got 0"),
    ("misspelt option", dict(method="smoothgrad", noise_levle=0.3), TypeError, r"unknown argument 'noise_levle'\. Did you mean 'noise_level'\?.*options of 'smoothgrad': n_samples, noise_level, seed"),
    ("misspelt argument", dict(method="gradcam", targte=3), TypeError, r"unknown argument 'targte'\. Did you mean 'target'\?.*Its arguments: method, layer, target"),
    ("option type", dict(method="smoothgrad", n_samples=2.5), TypeError, r"'n_samples' of 'smoothgrad' must be int in \[1, 10000\]; got 2\.5 \(float\)"),
    ("bool option", dict(method="smoothgrad", seed=True), TypeError, r"'seed' of 'smoothgrad' must be int; got True \(bool\)"),
    ("option range", dict(method="smoothgrad", noise_level=-0.1), ValueError, r"'noise_level' of 'smoothgrad' must be float in \[0\.0, 10\.0\]; got -0\.1"),
    ("option of a method with none", dict(method="gradcam", n_samples=3), TypeError, r"unknown argument 'n_samples'\..*'gradcam' takes no options"),
    ("layer for a pixel method", dict(method="saliency", layer="conv2"), ValueError, r"'saliency' reads no layer.*`layer='conv2'` would be ignored"),
    ("batch size", dict(batch_size=0), ValueError, r"batch_size must be >= 1"),
]


@pytest.mark.parametrize("kwargs, error, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(kwargs, error, pattern):
    kwargs = {"images": GOOD, **kwargs}
    with pytest.raises(error, match=pattern):
        explain(small_cnn(), **kwargs)


def test_valid_inputs_of_the_same_table_pass():
    model = small_cnn()
    for kwargs in (dict(target=9), dict(target=[0, 9]), dict(layer="conv1"), dict(layer=2),
                   dict(layer=model.get_layer("conv2")), dict(method="gradcam++")):
        assert explain(model, GOOD, **kwargs).maps.shape == (2, 28, 28)


def test_model_without_spatial_layer():
    inputs = keras.Input((8, 8, 1))
    flat = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="no layer with a spatial.*Use a gradient method"):
        explain(flat, np.zeros((1, 8, 8, 1), np.float32))
    assert explain(flat, np.zeros((1, 8, 8, 1), np.float32), method="saliency").maps.shape == (1, 8, 8)


def test_non_image_input():
    with pytest.raises(ValueError, match=r"not images \(batch, height, width, channels\)"):
        explain(no_spatial_model(), np.zeros((1, 8), np.float32), method="saliency")


def test_unbuilt_sequential_and_subclassed_model():
    with pytest.raises(ValueError, match="not built yet.*keras.Input"):
        explain(keras.Sequential([keras.layers.Conv2D(2, 3)]), GOOD)

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 3)

        def call(self, x):
            return self.conv(x)

    net = Net()
    net(GOOD)
    with pytest.raises(TypeError, match="no layer graph to re-trace.*Wrap it"):
        list_layers(net)


def test_multi_input_errors():
    model = siamese()
    pair = [np.zeros((2, 16, 16, 3), np.float32)] * 2
    with pytest.raises(ValueError, match="has 2 inputs; pass a list with one image batch per input"):
        explain(model, pair[0])
    with pytest.raises(ValueError, match=r"same number of images.*\[2, 1\]"):
        explain(model, [pair[0], pair[1][:1]], target=lambda out: out[:, 0])
    with pytest.raises(ValueError, match="does not depend on input 1"):
        explain(only_left_branch(), pair, layer="left_conv", input_index=1,
                target=lambda out: out[:, 0])


def only_left_branch():
    left, right = keras.Input((16, 16, 3)), keras.Input((16, 16, 3))
    a = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3, name="left_conv")(left))
    b = keras.layers.GlobalAveragePooling2D()(right)
    return keras.Model([left, right], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))


def test_missing_image_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        explain(small_cnn(), tmp_path / "nope.png")
