"""The model zoo: keras.applications architectures (weights=None, small inputs) and
keras-hub image models from small configs (random weights, nothing downloaded), each
built once per session and shared by the tests that use it."""
from __future__ import annotations

import functools

import keras

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


def _hub_models() -> dict:
    """keras-hub image backbones and classifiers from small configs, random weights
    (nothing downloaded): name -> builder."""
    import keras_hub

    models = keras_hub.models

    def resnet_classifier():
        backbone = models.ResNetBackbone(
            input_conv_filters=[64], input_conv_kernel_sizes=[3],
            stackwise_num_filters=[64, 16], stackwise_num_blocks=[1, 1],
            stackwise_num_strides=[1, 2], block_type="basic_block",
            use_pre_activation=False, image_shape=(32, 32, 3))
        return models.ResNetImageClassifier(backbone=backbone, num_classes=4, preprocessor=None)

    def resnet_v2_backbone():  # a backbone alone: its output is a feature map
        return models.ResNetBackbone(
            input_conv_filters=[8], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 16],
            stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2],
            block_type="bottleneck_block", use_pre_activation=True, image_shape=(32, 32, 3))

    def densenet_any_size():  # image_shape (None, None, 3)
        backbone = models.DenseNetBackbone(stackwise_num_repeats=[1, 1])
        return models.DenseNetImageClassifier(backbone=backbone, num_classes=3, preprocessor=None)

    def mit_classifier():  # SegFormer's mix transformer: attention on 4-D stages
        backbone = models.MiTBackbone(
            layerwise_depths=[1, 1], num_layers=2, layerwise_num_heads=[1, 2],
            layerwise_sr_ratios=[2, 1], max_drop_path_rate=0.0, layerwise_patch_sizes=[7, 3],
            layerwise_strides=[4, 2], image_shape=(32, 32, 3), hidden_dims=[8, 16])
        return models.MiTImageClassifier(backbone=backbone, num_classes=3, preprocessor=None)

    return {"hub_resnet_classifier": resnet_classifier,
            "hub_resnet_v2_backbone": resnet_v2_backbone,
            "hub_densenet_any_size": densenet_any_size,
            "hub_mit_classifier": mit_classifier}


HUB = ("hub_resnet_classifier", "hub_resnet_v2_backbone", "hub_densenet_any_size",
       "hub_mit_classifier")


def hub_model(name: str) -> keras.Model:
    """The keras-hub model `name`, built on first use and shared by every test after."""
    if name not in _BUILT:
        keras.utils.set_random_seed(1)
        _BUILT[name] = _hub_models()[name]()
    return _BUILT[name]
