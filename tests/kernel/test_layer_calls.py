"""A layer called several times is listed once per call (`path:n`, its own output
shape), offered in the layer menu and explained by that name; `layer="all"` reads
token layers too."""
from __future__ import annotations

import keras
import numpy as np

from cam_widgets import explain, list_layers
from cam_widgets.kernel.layer_choice import main_layers
from tests.kernel.helpers import backbone_twice
from tests.kernel.vit_models import TinyViT
from tests.kernel.vit_models import images as vit_images

IMAGES = np.random.default_rng(7).random((2, 8, 8, 3)).astype(np.float32)


def test_each_call_is_listed_with_its_own_shape_and_explained_by_that_name():
    model = backbone_twice()
    infos = {info.path: info for info in list_layers(model)}
    calls = [path for path in infos if path.startswith("backbone/")]
    assert calls == ["backbone/conv:0", "backbone/conv:1"]
    assert {infos[path].output_shape for path in calls} == {(None, 6, 6, 2), (None, 2, 2, 2)}
    for path in calls:
        res = explain(model, IMAGES, layer=path)
        assert res.layer == path and res.raw.shape[1:] == infos[path].output_shape[1:3]
    assert explain(model, IMAGES).layer in infos  # the default layer, by its listed name
    index = list(infos).index("backbone/conv:0")
    assert explain(model, IMAGES, layer=index).layer == "backbone/conv:0"


def test_the_menu_offers_every_call_of_a_backbone():
    paths = [info.path for info in main_layers(backbone_twice())]
    assert paths == ["half", "backbone/conv:0", "backbone/conv:1"]


def test_a_siamese_encoder_is_listed_once_by_its_path():
    keras.utils.set_random_seed(3)
    inner = keras.Input((12, 12, 3))
    encoder = keras.Model(inner, keras.layers.GlobalAveragePooling2D()(
        keras.layers.Conv2D(4, 3, name="feat")(inner)), name="encoder")
    left, right = keras.Input((12, 12, 3)), keras.Input((12, 12, 3))
    siamese = keras.Model([left, right], keras.layers.Dot(axes=1)([encoder(left), encoder(right)]))
    paths = [info.path for info in list_layers(siamese)]
    assert paths.count("encoder/feat") == 1 and "encoder/feat:1" not in paths
    pair = np.random.default_rng(1).random((2, 1, 12, 12, 3)).astype(np.float32)
    for side in (0, 1):
        res = explain(siamese, list(pair), input_index=side, target=lambda out: out[:, 0])
        assert res.layer == "encoder/feat"


def test_all_layers_include_token_layers():
    vit = TinyViT("mean").model
    spatial = [info.path for info in list_layers(vit) if info.spatial]
    assert "block1_add_2" in spatial and "patch_embed" in spatial
    res = explain(vit, vit_images(2), layer="all")
    assert res.layer == spatial
    assert res.maps.shape == (2, len(spatial), 16, 16)
    assert np.isfinite(res.maps).all() and res.maps.min() >= 0 and res.maps.max() <= 1


class ConvBlock(keras.layers.Layer):
    """A custom layer holding a convolution and its ReLU."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(4, 3, padding="same", name="conv")
        self.act = keras.layers.ReLU(name="act")

    def call(self, x):
        return self.act(self.conv(x))


def test_the_menu_leaves_layers_inside_custom_layers_to_show_all():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 2))
    features = ConvBlock(name="block")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(
        keras.layers.GlobalAveragePooling2D()(features)))
    assert [info.path for info in main_layers(model)] == ["block"]
    assert "block/act" in [info.path for info in list_layers(model)]
