"""The model zoo: each architecture built once per session (weights=None, small inputs)."""
from __future__ import annotations

import functools

import keras
import pytest

ZOO = {
    "resnet50": (keras.applications.ResNet50, 64),
    "vgg16": (keras.applications.VGG16, 64),
    "mobilenetv2": (keras.applications.MobileNetV2, 64),
    "xception": (keras.applications.Xception, 72),
    "efficientnetb0": (keras.applications.EfficientNetB0, 64),
    "densenet121": (keras.applications.DenseNet121, 64),
}
# Every other keras.applications family, at the smallest size whose last feature map
# is at least 2x2; run through the CAM and input-gradient paths (test_contract.py).
MORE_ZOO = {
    "convnexttiny": (keras.applications.ConvNeXtTiny, 64),
    "efficientnetv2b0": (keras.applications.EfficientNetV2B0, 64),
    "nasnetmobile": (keras.applications.NASNetMobile, 64),
    "inceptionv3": (keras.applications.InceptionV3, 107),
    "inceptionresnetv2": (keras.applications.InceptionResNetV2, 107),
    "mobilenet": (functools.partial(keras.applications.MobileNet, alpha=0.25), 64),
    "mobilenetv3small": (keras.applications.MobileNetV3Small, 64),
    "resnet50v2": (keras.applications.ResNet50V2, 64),
}
_BUILT: dict[str, keras.Model] = {}


def zoo_model(name: str) -> keras.Model:
    """The zoo model `name`, built on first use and shared by every test after."""
    if name not in _BUILT:
        build, size = {**ZOO, **MORE_ZOO}[name]
        keras.utils.set_random_seed(1)
        _BUILT[name] = build(weights=None, input_shape=(size, size, 3), classes=10)
    return _BUILT[name]


@pytest.fixture(params=list(ZOO), scope="session")
def zoo(request) -> keras.Model:
    return zoo_model(request.param)
