"""Small models shared by the kernel tests: hand-set ones whose attributions are worked out
by hand, and random-weight ones checked against `reference.py`."""
from __future__ import annotations

import keras
import numpy as np

# A 3x3 one-channel image with values 0..8.
RAMP = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)


def small_cnn(classes: int = 10, activation: str | None = "softmax") -> keras.Model:
    """28x28x1 -> conv1 (8) -> pool -> conv2 (16) -> GAP -> Dense `predictions`."""
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(16, 3, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation=activation, name="predictions")(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")


def siamese(seed: int = 0) -> keras.Model:
    """Two 16x16x3 inputs through one shared encoder (conv, batch norm with non-trivial
    statistics, ReLU), concatenated, mixed and pooled into one sigmoid similarity."""
    rng = np.random.default_rng(seed)
    encoder = keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Conv2D(6, 3, padding="same", name="conv"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.ReLU(name="relu"),
    ], name="encoder")
    left, right = keras.Input((16, 16, 3), name="left"), keras.Input((16, 16, 3), name="right")
    joined = keras.layers.Concatenate(name="join")([encoder(left), encoder(right)])
    x = keras.layers.Conv2D(4, 3, activation="relu", name="mix")(joined)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    similarity = keras.layers.Dense(1, activation="sigmoid", name="similarity")(x)
    model = keras.Model([left, right], similarity, name="siamese")
    bn = encoder.get_layer("bn")  # non-trivial statistics so BN is not the identity
    bn.set_weights([w + rng.random(w.shape).astype(np.float32) for w in bn.get_weights()])
    return model


def scale_gap_dense(activation: str | None = None) -> keras.Model:
    """x -> Conv 1x1 (filters scale by 1 and 2) -> GAP -> Dense(2) with W = [[1, -1], [0.5, 2]].

    For class c, d score / d A_k = W[k, c] / 9 at every location, so Grad-CAM's weights
    are W[:, c] / 9 and the CAM is (W[0, c] + 2 W[1, c]) x / 9.
    """
    inputs = keras.Input((3, 3, 1))
    features = keras.layers.Conv2D(2, 1, name="scale")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(features)
    outputs = keras.layers.Dense(2, activation=activation, name="head")(pooled)
    model = keras.Model(inputs, outputs, name="scale_gap_dense")
    model.get_layer("scale").set_weights([np.array([[[[1.0, 2.0]]]]), np.zeros(2)])
    model.get_layer("head").set_weights([np.array([[1.0, -1.0], [0.5, 2.0]]), np.zeros(2)])
    return model


def split_relu(head_activation: str | None = None) -> keras.Model:
    """x (2x2x1) -> Conv 1x1 [1, -1] + ReLU -> GAP -> Dense(1) with W = [1, -1].

    score = mean(relu(x)) - mean(relu(-x)): the vanilla input gradient is 1/4 at every
    non-zero pixel; the guided one keeps only pixels with x > 0 (the second channel's
    incoming gradient is negative, so guided ReLU blocks it).
    """
    inputs = keras.Input((2, 2, 1))
    features = keras.layers.Conv2D(2, 1, activation="relu", name="split")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(1, activation=head_activation, name="head")(pooled)
    model = keras.Model(inputs, outputs, name="split_relu")
    model.get_layer("split").set_weights([np.array([[[[1.0, -1.0]]]]), np.zeros(2)])
    model.get_layer("head").set_weights([np.array([[1.0], [-1.0]]), np.zeros(1)])
    return model


def binary_sigmoid_model(images: np.ndarray, attention: bool = True) -> keras.Model:
    """A one-unit sigmoid classifier small enough for every method: 8x8x3 -> 2x2/2 patch
    conv (4 channels) -> 16 tokens -> one self-attention block with a residual (unless
    `attention` is False: LRP has no rule for attention) -> mean -> Dense(1, sigmoid).
    The head's bias is set so that the logits of `images` are centred on 0 and spread
    about +-2 (some images are predicted 1, some 0)."""
    keras.utils.set_random_seed(18)
    inputs = keras.Input((8, 8, 3))
    patches = keras.layers.Conv2D(4, 2, strides=2, name="patch")(inputs)
    tokens = keras.layers.Reshape((16, 4), name="tokens")(patches)
    if attention:
        attended = keras.layers.MultiHeadAttention(1, 4, name="mha")(tokens, tokens)
        tokens = keras.layers.Add(name="residual")([tokens, attended])
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(tokens)
    head = keras.layers.Dense(1, activation="sigmoid", name="head")
    model = keras.Model(inputs, head(pooled), name="binary_sigmoid")
    logits = keras.Model(inputs, pooled)(images).numpy() @ head.get_weights()[0]
    weights = head.get_weights()[0] * 2 / logits.std()  # logits of about +-2
    head.set_weights([weights, -np.median(logits, axis=0) * 2 / logits.std()])
    return model


def binary_logits(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """The pre-sigmoid value of `binary_sigmoid_model` for `images`, (B,) float64."""
    head = model.get_layer("head")
    pooled = keras.Model(model.inputs[0], model.get_layer("pool").output)(images).numpy()
    kernel, bias = head.get_weights()
    return (pooled.astype(np.float64) @ kernel + bias)[:, 0]


def backbone_twice() -> keras.Model:
    """A backbone for any size called on the 8x8 image and on its 4x4 average-pooled
    copy: conv (3x3 valid) gives 6x6 on one call and 2x2 on the other."""
    keras.utils.set_random_seed(4)
    inner = keras.Input((None, None, 3))
    backbone = keras.Model(
        inner, keras.layers.Conv2D(2, 3, activation="relu", name="conv")(inner), name="backbone")
    image = keras.Input((8, 8, 3))
    half = keras.layers.AveragePooling2D(2, name="half")(image)
    pooled = [keras.layers.GlobalAveragePooling2D()(backbone(x)) for x in (image, half)]
    return keras.Model(image, keras.layers.Dense(3)(keras.layers.Concatenate()(pooled)))
