"""The layer menu's rule (kernel/layer_choice.py) on small hand-built networks."""

from __future__ import annotations

import keras

from cam_widgets.kernel.layer_choice import main_layers


def _paths(model: keras.Model) -> list[str]:
    return [info.path for info in main_layers(model)]


def test_residual_network_lists_block_outputs_pools_and_the_last_layer():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    x = keras.layers.MaxPooling2D(name="stem_pool")(x)
    for block in (1, 2):
        y = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name=f"b{block}_conv1")(x)
        y = keras.layers.Conv2D(4, 3, padding="same", name=f"b{block}_conv2")(y)
        y = keras.layers.Add(name=f"b{block}_add")([x, y])
        x = keras.layers.Activation("relu", name=f"b{block}_out")(y)
    x = keras.layers.Conv2D(4, 1, name="head_conv")(x)  # a last layer with no activation
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    assert _paths(model) == ["stem_relu", "stem_pool", "b1_out", "b2_out", "head_conv"]


def test_plain_chain_lists_every_activation_and_pool_but_not_batch_norms():
    model = keras.Sequential([
        keras.Input((16, 16, 1)),
        keras.layers.Conv2D(4, 3, name="conv1"),  # no activation: not a stage end
        keras.layers.BatchNormalization(name="bn1"),
        keras.layers.Activation("relu", name="relu1"),
        keras.layers.ZeroPadding2D(name="pad"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv2"),
        keras.layers.AveragePooling2D(2, name="pool"),
        keras.layers.Conv2D(4, 3, padding="same", name="conv3"),
        keras.layers.Activation("linear", name="identity"),
        keras.layers.Flatten(),
        keras.layers.Dense(2),
    ])
    assert _paths(model) == ["relu1", "conv2", "pool", "identity"]


def test_a_nested_backbone_contributes_its_output():
    inner_in = keras.Input((12, 12, 3))
    y = keras.layers.Conv2D(3, 3, name="a")(inner_in)
    y = keras.layers.Conv2D(4, 3, name="b")(y)
    backbone = keras.Model(inner_in, y, name="backbone")
    outer_in = keras.Input((12, 12, 3))
    z = keras.layers.Conv2D(2, 1, name="adapter")(backbone(outer_in))
    model = keras.Model(outer_in, keras.layers.Dense(3)(keras.layers.Flatten()(z)))
    # no activation anywhere: only the backbone's output and the model's last layer
    assert _paths(model) == ["backbone/b", "adapter"]


def test_token_models_list_their_merges_up_to_the_default_token_layer():
    from tests.kernel.vit_models import TinyViT

    # a pooled head reads every token of the last block: its merges up to that output
    # (the final normalisation after it only rescales each token: left out)
    pooled = main_layers(TinyViT("mean").model)
    assert [i.path for i in pooled] == ["block0_add_1", "block0_add_2", "block1_add_1",
                                         "block1_add_2"]
    assert {i.grid for i in pooled} == {(4, 4)}
    # a class-token head: the patch tokens of later layers get no gradient, so the menu
    # ends at the input of the last attention (the kernel's default token layer)
    assert _paths(TinyViT("token").model) == ["block0_add_1", "block0_add_2", "block1_ln_1"]


def test_segmentation_model_lists_its_bottleneck():
    from tests.kernel.vit_models import tiny_unet

    # the activation before the pool, the pool, the merge, the last layer, and the
    # kernel's default layer for a dense output: the bottleneck "mid" (an activation
    # followed by an upsampling, which the rule alone would leave out)
    assert _paths(tiny_unet()) == ["enc", "down", "mid", "merge", "seg"]
