"""keras-hub vision models built from small configs with random weights (nothing is
downloaded): blocks inside custom layers by path, token grids with class, distillation
and register tokens, a hierarchical (Swin) backbone and a SegFormer segmenter."""
from __future__ import annotations

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from cam_widgets import SegmentationTarget, explain, list_layers
from tests.helpers import fingerprint
from tests.kernel import reference

pytestmark = pytest.mark.slow

X = np.random.default_rng(4).uniform(size=(2, 32, 32, 3)).astype(np.float32)
_BUILT: dict[str, keras.Model] = {}


def hub_model(name: str) -> keras.Model:
    """Each keras-hub model built once per session."""
    if name not in _BUILT:
        keras.utils.set_random_seed(7)
        _BUILT[name] = _BUILDERS[name]()
    return _BUILT[name]


def _vit():
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(32, 32, 3), patch_size=8, num_layers=2, num_heads=2, hidden_dim=16,
        mlp_dim=32, use_class_token=True)
    return keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=3,
                                               preprocessor=None)


def _mit():
    return keras_hub.models.MiTBackbone(
        layerwise_depths=[1, 1], num_layers=2, layerwise_num_heads=[1, 2],
        layerwise_sr_ratios=[2, 1], max_drop_path_rate=0.0, layerwise_patch_sizes=[7, 3],
        layerwise_strides=[4, 2], hidden_dims=[8, 16], image_shape=(32, 32, 3))


_BUILDERS = {
    "vit": _vit,
    "deit": lambda: keras_hub.models.DeiTBackbone(
        image_shape=(32, 32, 3), patch_size=8, num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32),
    "dinov2": lambda: keras_hub.models.DINOV2Backbone(
        patch_size=8, num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32,
        num_register_tokens=4, image_shape=(32, 32, 3), position_embedding_shape=(32, 32)),
    "swin": lambda: keras_hub.models.SwinTransformerBackbone(
        image_shape=(32, 32, 3), patch_size=4, embed_dim=8, depths=[1, 1],
        num_heads=[1, 2], window_size=2),
    "segformer": lambda: keras_hub.models.SegFormerImageSegmenter(
        backbone=keras_hub.models.SegFormerBackbone(image_encoder=_mit(),
                                                    projection_filters=8),
        num_classes=3, preprocessor=None),
}


def _mean_tokens(outputs):
    return tf.reduce_mean(outputs, axis=list(range(1, len(outputs.shape))))


def test_vit_blocks_inside_the_encoder_are_listed_and_the_default_is_the_last_attention_input():
    model = hub_model("vit")
    infos = {info.path: info for info in list_layers(model)}
    block = "vi_t_backbone/vit_encoder/transformer_block_2"
    assert infos[block].class_name == "ViTEncoderBlock"
    assert infos[f"{block}/ln_1"].output_shape == (None, 17, 16)
    assert (infos[f"{block}/ln_1"].grid, infos[f"{block}/ln_1"].prefix_tokens) == ((4, 4), 1)
    assert infos["vi_t_backbone/vit_patching_and_embedding/patch_embedding"].grid is None
    assert not infos["vi_t_backbone/vit_patching_and_embedding/position_embedding"].spatial
    before = fingerprint(model, X)
    res = explain(model, X)
    assert res.layer == f"{block}/ln_1"  # class-token head ("token" pooling)
    assert res.raw.shape == (2, 4, 4) and np.ptp(res.raw) > 0
    assert fingerprint(model, X) == before


def test_vit_gradcam_at_a_block_output_equals_a_split_reference():
    model = hub_model("vit")
    backbone = model.get_layer("vi_t_backbone")
    patching = backbone.get_layer("vit_patching_and_embedding")
    encoder = backbone.get_layer("vit_encoder")
    first, second = encoder.encoder_layers
    dense = model.get_layer("predictions")

    def features(images):
        tokens = first(patching(images))
        return tf.reshape(tokens[:, 1:], (-1, 4, 4, 16))

    held = patching(tf.constant(X))  # only to give the class token a fixed value
    class_token = first(held)[:, :1]

    def head(grid):
        tokens = tf.concat([class_token, tf.reshape(grid, (-1, 16, 16))], axis=1)
        pooled = encoder.layer_norm(second(tokens))[:, 0]
        return tf.matmul(pooled, dense.kernel) + dense.bias

    res = explain(model, X, layer="vi_t_backbone/vit_encoder/transformer_block_1", target=2)
    expected = reference.gradcam(features, head, X, reference.class_score(2))
    np.testing.assert_allclose(res.maps, expected, atol=1e-4)


@pytest.mark.parametrize("name, prefix, layer", [
    ("deit", 2, "deit_encoder"),        # class + distillation token
    ("dinov2", 5, "encoder"),           # class + 4 register tokens
    ("swin", 0, "stage_1"),             # hierarchical: the last stage's 4 x 4 grid
])
def test_transformer_backbones_token_grids_and_default_layer(name, prefix, layer):
    model = hub_model(name)
    infos = {info.path: info for info in list_layers(model)}
    assert (infos[layer].grid, infos[layer].prefix_tokens) == ((4, 4), prefix)
    before = fingerprint(model, X)
    res = explain(model, X, target=_mean_tokens)
    assert res.layer == layer
    assert res.maps.shape == (2, 32, 32) and np.isfinite(res.maps).all()
    assert fingerprint(model, X) == before


def test_segformer_explains_a_class_region():
    model = hub_model("segformer")
    assert tuple(model.outputs[0].shape) == (None, 32, 32, 3)
    before = fingerprint(model, X)
    res = explain(model, X, target=SegmentationTarget(1))
    box = np.zeros((32, 32), np.float32)
    box[:16, :16] = 1
    boxed = explain(model, X, target=SegmentationTarget(1, mask=box))
    # the bottleneck: the last layer at the encoder's lowest resolution (4 x 4)
    infos = {info.path: info for info in list_layers(model)}
    assert res.layer == boxed.layer and infos[res.layer].output_shape[1:3] == (4, 4)
    assert np.isfinite(res.maps).all() and np.isfinite(boxed.maps).all()
    assert not np.allclose(res.maps, boxed.maps)
    with pytest.raises(ValueError, match="SegmentationTarget"):
        explain(model, X, target=1)
    assert fingerprint(model, X) == before


def test_vit_attention_rollout_equals_a_reference_from_the_blocks():
    model = hub_model("vit")
    backbone = model.get_layer("vi_t_backbone")
    encoder = backbone.get_layer("vit_encoder")
    tokens = backbone.get_layer("vit_patching_and_embedding")(tf.constant(X))
    joint = np.eye(17)[None]
    for block in encoder.encoder_layers:  # attention asked for by hand, block by block
        normed = block.layer_norm_1(tokens)
        _, scores = block.mha(normed, normed, return_attention_scores=True)
        layer = 0.5 * scores.numpy().max(axis=1) + 0.5 * np.eye(17)
        joint = (layer / layer.sum(axis=-1, keepdims=True)) @ joint
        tokens = block(tokens)
    before = fingerprint(model, X)
    res = explain(model, X, method="attention_rollout", head_fusion="max")
    np.testing.assert_allclose(res.raw, joint[:, 0, 1:].reshape(2, 4, 4), rtol=1e-4)
    assert fingerprint(model, X) == before
    assert all("call" not in vars(block.mha) for block in encoder.encoder_layers)
