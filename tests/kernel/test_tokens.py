"""Token layers of vision transformers: grids, the default layer for pooled and
class-token heads, and Grad-CAM on the patch grid against a split-model reference."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import explain, list_layers
from tests.kernel import reference
from tests.kernel.vit_models import TinyViT, images

X = images(4)


@pytest.fixture(scope="module")
def vits() -> dict[str, TinyViT]:
    return {"mean": TinyViT("mean"), "token": TinyViT("token")}


def _grid(tokens, prefix):
    return tf.reshape(tokens[:, prefix:], (tokens.shape[0], 4, 4, tokens.shape[-1]))


def _rebuild(tokens, grid, prefix):
    return tf.concat([tokens[:, :prefix], tf.reshape(grid, (grid.shape[0], 16, -1))], axis=1)


def test_list_layers_marks_token_layers_with_their_grid(vits):
    mean = {info.path: info for info in list_layers(vits["mean"].model)}
    token = {info.path: info for info in list_layers(vits["token"].model)}
    assert mean["patch_embed"].spatial and mean["patch_embed"].grid is None
    assert mean["block1_add_2"].spatial
    assert (mean["block1_add_2"].grid, mean["block1_add_2"].prefix_tokens) == ((4, 4), 0)
    assert (token["block1_ln_1"].grid, token["block1_ln_1"].prefix_tokens) == ((4, 4), 1)
    assert not token["take_class_token"].spatial and token["take_class_token"].grid is None


def test_default_layer_pooled_head_is_the_last_block_output(vits):
    vit = vits["mean"]
    res = explain(vit.model, X, method="gradcam")
    assert res.layer == "block1_add_2"
    assert res.raw.shape == (4, 4, 4) and res.maps.shape == (4, 16, 16)

    def features(batch):
        return _grid(vit.block(1, vit.block(0, vit.embed(batch))), 0)

    def head(grid):
        return vit.head(_rebuild(grid[:, :0, 0, :], grid, 0), softmax=False)

    expected = reference.gradcam(features, head, X, reference.class_score(res.targets))
    np.testing.assert_allclose(res.maps, expected, atol=2e-5)


def test_default_layer_class_token_head_is_the_last_attention_input(vits):
    vit = vits["token"]
    res = explain(vit.model, X, method="gradcam")
    assert res.layer == "block1_ln_1"
    before = vit.block(0, vit.embed(tf.constant(X)))  # the last block's input, held fixed

    def features(batch):
        return _grid(vit.blocks[1]["ln_1"](before), 1)

    def head(grid):
        normed = _rebuild(vit.blocks[1]["ln_1"](before), grid, 1)
        return vit.head(vit.block(1, before, normed=normed), softmax=False)

    expected = reference.gradcam(features, head, X, reference.class_score(res.targets))
    np.testing.assert_allclose(res.maps, expected, atol=2e-5)
    assert np.ptp(res.raw) > 0


def test_class_token_head_after_the_last_attention_gives_patch_tokens_no_gradient(vits):
    # The reason for the default: only the class token is read after the attention.
    res = explain(vits["token"].model, X, method="gradcam", layer="block1_add_2")
    assert np.all(res.raw == 0)


def test_token_grid_given_equals_found_and_bad_grids_are_refused(vits):
    model = vits["token"].model
    found = explain(model, X, layer="block0_add_2")
    given = explain(model, X, layer="block0_add_2", token_grid=(4, 4))
    np.testing.assert_array_equal(found.raw, given.raw)
    with pytest.raises(ValueError, match=r"token_grid=\(5, 5\) has 25 patches.*17 tokens"):
        explain(model, X, layer="block0_add_2", token_grid=(5, 5))
    with pytest.raises(TypeError, match="token_grid must be \\(rows, columns\\)"):
        explain(model, X, layer="block0_add_2", token_grid=16)
    with pytest.raises(ValueError, match="not \\(batch, height, width, channels\\)"):
        explain(model, X, layer="take_class_token")


def test_token_layers_with_top_k_and_given_activations(vits):
    model = vits["mean"].model
    first = explain(model, X, layer="block0_add_2", target=2)
    assert first.activations.shape == (4, 4, 4, 8)
    again = explain(model, X, layer="block0_add_2", target=2, activations=first.activations)
    np.testing.assert_allclose(again.raw, first.raw, atol=1e-6)
    top = explain(model, X, layer="block0_add_2", top_k=2)
    best = explain(model, X, layer="block0_add_2")
    np.testing.assert_allclose(top.maps[:, 0], best.maps, atol=1e-5)


@pytest.mark.parametrize("method", ["gradcam++", "layercam"])
def test_every_cam_method_runs_on_token_layers(vits, method):
    res = explain(vits["token"].model, X, method=method)
    assert res.layer == "block1_ln_1"
    assert np.isfinite(res.maps).all() and res.maps.max() == pytest.approx(1.0)
