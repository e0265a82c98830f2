"""Attention rollout (Abnar & Zuidema 2020) on a hand-set two-layer attention model,
options, errors, and the user's MultiHeadAttention layers left as they were."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from cam_widgets import explain
from cam_widgets.kernel.methods import get_method
from tests.helpers import fingerprint
from tests.kernel.helpers import RAMP, scale_gap_dense
from tests.kernel.vit_models import ClassToken

# A 2 x 2 one-channel image: four patch tokens t = x (D = 1) after a class token 1.0.
IMAGE = np.array([[0.0, 0.5], [1.0, -1.5]], np.float32).reshape(1, 2, 2, 1)
HEAD_SIGNS = np.array([1.0, -2.0])  # head h: attention logits s_h * t_i * t_j


def attention_model() -> keras.Model:
    """Two MultiHeadAttention layers (2 heads, key_dim 1) with query weights s_h and
    key weights 1, so head h attends with softmax_j(s_h t_i t_j); value and output
    weights are zero, so each layer adds nothing and both see the same tokens."""
    inputs = keras.Input((2, 2, 1))
    tokens = ClassToken(name="class_token")(keras.layers.Reshape((4, 1), name="tokens")(inputs))
    for index in range(2):
        mha = keras.layers.MultiHeadAttention(2, 1, name=f"mha_{index}")
        tokens = keras.layers.Add(name=f"add_{index}")([tokens, mha(tokens, tokens)])
    pooled = keras.layers.Lambda(lambda t: t[:, 0], name="take_class_token")(tokens)
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(pooled), name="attn")
    model.get_layer("class_token").set_weights([np.ones((1, 1, 1))])
    for index in range(2):
        mha = model.get_layer(f"mha_{index}")
        weights = []
        for weight in mha.weights:
            if "query" in weight.path and "kernel" in weight.path:
                weights.append(HEAD_SIGNS.reshape(1, 2, 1))
            elif "key" in weight.path and "kernel" in weight.path:
                weights.append(np.ones((1, 2, 1)))
            else:
                weights.append(np.zeros(weight.shape))
        mha.set_weights(weights)
    return model


def expected_rollout(fusion, discard_ratio=0.0) -> np.ndarray:
    tokens = np.concatenate([[1.0], IMAGE.reshape(-1)])
    heads = []
    for sign in HEAD_SIGNS:
        logits = sign * np.outer(tokens, tokens)
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        heads.append(weights / weights.sum(axis=1, keepdims=True))
    fused = getattr(np, fusion)(np.stack(heads), axis=0)
    if discard_ratio:
        cutoff = np.sort(fused.reshape(-1))[int(fused.size * discard_ratio) - 1]
        fused = np.where(fused > cutoff, fused, 0.0)
    layer = 0.5 * fused + 0.5 * np.eye(5)
    layer /= layer.sum(axis=1, keepdims=True)
    joint = layer @ layer  # the same attention in both layers
    return joint[0, 1:].reshape(2, 2)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return attention_model()


@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
def test_rollout_equals_the_hand_computed_product(model, fusion):
    res = explain(model, IMAGE, method="attention_rollout", head_fusion=fusion)
    np.testing.assert_allclose(res.raw[0], expected_rollout(fusion), rtol=1e-5)
    assert res.maps.shape == (1, 2, 2) and res.layer is None and not res.signed


def test_rollout_literal_values_and_discard_ratio(model):
    res = explain(model, IMAGE, method="attention_rollout")
    # class-token row of the squared, identity-mixed mean attention, worked out above
    np.testing.assert_allclose(res.raw[0], expected_rollout("mean"), rtol=1e-5)
    assert res.raw[0].sum() < 1  # the class token keeps part of the flow for itself
    discarded = explain(model, IMAGE, method="attention_rollout", discard_ratio=0.5)
    np.testing.assert_allclose(discarded.raw[0], expected_rollout("mean", 0.5), rtol=1e-5)
    assert not np.allclose(discarded.raw, res.raw)


def test_rollout_is_class_agnostic_and_leaves_the_layers_unchanged(model):
    method = get_method("attention_rollout")
    assert not method.class_specific and not method.uses_layer
    assert "class-agnostic" in type(method).__doc__
    before = fingerprint(model, IMAGE)
    configs = [json.dumps(model.get_layer(f"mha_{i}").get_config(), default=str) for i in range(2)]
    first = explain(model, IMAGE, method="attention_rollout", target=0)
    second = explain(model, IMAGE, method="attention_rollout", target=1)
    np.testing.assert_array_equal(first.raw, second.raw)
    assert fingerprint(model, IMAGE) == before
    assert configs == [json.dumps(model.get_layer(f"mha_{i}").get_config(), default=str)
                       for i in range(2)]
    output = model.get_layer("mha_0")(np.ones((1, 5, 1), np.float32), np.ones((1, 5, 1), np.float32))
    assert not isinstance(output, tuple)  # the layer still returns its output alone


@pytest.mark.parametrize("options, error, message", [
    ({"head_fusion": "median"}, ValueError, "head_fusion.*one of 'mean', 'max', 'min'"),
    ({"discard_ratio": 1.0}, ValueError, "discard_ratio.*\\[0.0, 0.99\\]"),
    ({"layer": "mha_0"}, ValueError, "reads no layer"),
])
def test_bad_rollout_options(model, options, error, message):
    with pytest.raises(error, match=message):
        explain(model, IMAGE, method="attention_rollout", **options)


def test_rollout_needs_multi_head_attention():
    with pytest.raises(ValueError, match="no keras.layers.MultiHeadAttention"):
        explain(scale_gap_dense(), RAMP, method="attention_rollout")
