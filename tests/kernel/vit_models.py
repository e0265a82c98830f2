"""Tiny hand-built vision transformers and a U-Net, built from layer objects that the
tests can also call one by one (to split the model for reference computations)."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

IMAGE = 16  # 16 x 16 x 3 images, 4 x 4 patches -> a 4 x 4 grid
PATCH = 4
DIM = 8


class ClassToken(keras.layers.Layer):
    """Puts one learned token in front of the patch tokens."""

    def build(self, input_shape):
        self.token = self.add_weight(shape=(1, 1, input_shape[-1]), initializer="random_normal")

    def call(self, tokens):
        batch = keras.ops.shape(tokens)[0]
        return keras.ops.concatenate(
            [keras.ops.broadcast_to(self.token, (batch, 1, tokens.shape[-1])), tokens], axis=1)


class TinyViT:
    """Patch conv -> tokens (+ class token) -> `depth` pre-norm blocks -> final norm ->
    mean-pooled or class-token head. Every layer is an attribute, so a test can run
    any part of the model by itself."""

    def __init__(self, head: str, depth: int = 2, classes: int = 3, seed: int = 0) -> None:
        keras.utils.set_random_seed(seed)
        self.head_kind = head
        self.patch = keras.layers.Conv2D(DIM, PATCH, strides=PATCH, name="patch_embed")
        self.flatten = keras.layers.Reshape(((IMAGE // PATCH) ** 2, DIM), name="tokens")
        self.cls = ClassToken(name="class_token") if head == "token" else None
        self.blocks = []
        for index in range(depth):
            self.blocks.append({
                "ln_1": keras.layers.LayerNormalization(name=f"block{index}_ln_1"),
                "mha": keras.layers.MultiHeadAttention(2, 4, name=f"block{index}_mha"),
                "add_1": keras.layers.Add(name=f"block{index}_add_1"),
                "ln_2": keras.layers.LayerNormalization(name=f"block{index}_ln_2"),
                "fc_1": keras.layers.Dense(16, activation="gelu", name=f"block{index}_fc_1"),
                "fc_2": keras.layers.Dense(DIM, name=f"block{index}_fc_2"),
                "add_2": keras.layers.Add(name=f"block{index}_add_2"),
            })
        self.norm = keras.layers.LayerNormalization(name="encoder_norm")
        self.pool = (keras.layers.GlobalAveragePooling1D(name="pool") if head == "mean"
                     else keras.layers.Lambda(lambda t: t[:, 0], name="take_class_token"))
        self.out = keras.layers.Dense(classes, activation="softmax", name="logits")
        inputs = keras.Input((IMAGE, IMAGE, 3))
        self.model = keras.Model(inputs, self.from_tokens(self.embed(inputs)),
                                 name=f"vit_{head}")

    def embed(self, images):
        tokens = self.flatten(self.patch(images))
        return self.cls(tokens) if self.cls is not None else tokens

    def block(self, index: int, tokens, normed=None):
        """One block; `normed` replaces the output of its first normalisation."""
        layers = self.blocks[index]
        normed = layers["ln_1"](tokens) if normed is None else normed
        tokens = layers["add_1"]([tokens, layers["mha"](normed, normed)])
        return layers["add_2"]([tokens, layers["fc_2"](layers["fc_1"](layers["ln_2"](tokens)))])

    def head(self, tokens, softmax: bool = True):
        pooled = self.pool(self.norm(tokens))
        if softmax:
            return self.out(pooled)
        return tf.matmul(pooled, self.out.kernel) + self.out.bias

    def from_tokens(self, tokens, start: int = 0):
        for index in range(start, len(self.blocks)):
            tokens = self.block(index, tokens)
        return self.head(tokens)


def tiny_unet(classes: int = 3, seed: int = 0) -> keras.Model:
    """16x16 -> conv -> pool -> conv (bottleneck) -> upsample -> concat skip -> 3x3 conv
    -> 1x1 conv softmax."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((IMAGE, IMAGE, 3))
    skip = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="enc")(inputs)
    down = keras.layers.MaxPooling2D(name="down")(skip)
    mid = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="mid")(down)
    up = keras.layers.UpSampling2D(name="up")(mid)
    merged = keras.layers.Concatenate(name="merge")([up, skip])
    decoded = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="dec")(merged)
    outputs = keras.layers.Conv2D(classes, 1, activation="softmax", name="seg")(decoded)
    return keras.Model(inputs, outputs, name="tiny_unet")


def images(n: int = 4, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n, IMAGE, IMAGE, 3)).astype(np.float32)
