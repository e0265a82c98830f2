"""The model zoo: each architecture built once per session (weights=None, small inputs)."""
from __future__ import annotations

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
_BUILT: dict[str, keras.Model] = {}


def zoo_model(name: str) -> keras.Model:
    """The zoo model `name`, built on first use and shared by every test after."""
    if name not in _BUILT:
        build, size = ZOO[name]
        keras.utils.set_random_seed(1)
        _BUILT[name] = build(weights=None, input_shape=(size, size, 3), classes=10)
    return _BUILT[name]


@pytest.fixture(params=list(ZOO), scope="session")
def zoo(request) -> keras.Model:
    return zoo_model(request.param)
