"""A keras-hub SegFormer segmenter gives TensorFlow's SegmentationTarget results on this
backend. Its weights come from numpy (not Keras's per-backend initializers), so every
backend explains the same model and predicts the same classes: a blank map here can only
come from the kernel, not from a class that this backend's random weights never predict.

The reference is written under TensorFlow:
    KERAS_BACKEND=tensorflow python -m tests.backends.test_keras_hub_segmenter
"""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from tests.backends import cases
from tests.backends.helpers import assert_close_to_reference, fingerprint

REFERENCE = cases.FIXTURES / "segformer.npz"
IMAGES = np.random.default_rng(4).uniform(size=(2, 32, 32, 3)).astype(np.float32)
BOX = np.zeros((32, 32), np.float32)
BOX[:16, :16] = 1


def segformer() -> keras.Model:
    import keras_hub

    encoder = keras_hub.models.MiTBackbone(
        layerwise_depths=[1, 1], num_layers=2, layerwise_num_heads=[1, 2],
        layerwise_sr_ratios=[2, 1], max_drop_path_rate=0.0, layerwise_patch_sizes=[7, 3],
        layerwise_strides=[4, 2], hidden_dims=[8, 16], image_shape=(32, 32, 3))
    model = keras_hub.models.SegFormerImageSegmenter(
        backbone=keras_hub.models.SegFormerBackbone(image_encoder=encoder,
                                                    projection_filters=8),
        num_classes=3, preprocessor=None)
    # By path: the order of `model.weights` differs between backends (torch lists the
    # segmenter's linear_16 after another (16, 8) kernel, TensorFlow before it).
    rng = np.random.default_rng(7)
    for variable in sorted(model.weights, key=lambda v: v.path):
        weight = keras.ops.convert_to_numpy(variable)
        if np.ptp(weight) > 0:  # constants (norms, BN statistics, zero biases) kept
            fan_in = math.prod(weight.shape[:-1]) if weight.ndim > 1 else weight.shape[0]
            variable.assign(rng.normal(0, fan_in ** -0.5, weight.shape).astype(weight.dtype))
    return model


def results(model: keras.Model) -> dict[str, np.ndarray]:
    """Each class (predicted, or not, somewhere) and a boxed region, as named arrays."""
    from cam_widgets import SegmentationTarget, explain

    found = {}
    targets = [(f"class{c}", SegmentationTarget(c)) for c in range(3)]
    targets.append(("box1", SegmentationTarget(1, mask=BOX)))
    for name, target in targets:
        got = cases.result_arrays(explain(model, IMAGES, target=target))
        found.update({f"{name}/{key}": value for key, value in got.items()})
    found["predicted"] = np.argmax(model.predict(IMAGES, verbose=0), axis=-1)
    return found


def _part(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    return {key.split("/")[1]: value for key, value in arrays.items()
            if key.startswith(name + "/")}


def test_segformer_segmentation_targets_equal_tensorflows(backend):
    pytest.importorskip("keras_hub")
    model = segformer()
    before = fingerprint(model, IMAGES)
    got = results(model)
    with np.load(REFERENCE) as stored:
        expected = {key: stored[key] for key in stored.files}
    predicted = expected.pop("predicted")
    np.testing.assert_array_equal(got.pop("predicted"), predicted)
    for name in ("class0", "class1", "class2", "box1"):
        assert_close_to_reference(_part(got, name), _part(expected, name),
                                  f"segformer {name} on {backend}")
    # a class predicted at some pixel of every image has a region, a score and a CAM
    # (the raw CAM: its ReLU'd map may still be blank where every location counts against)
    counts = np.stack([np.bincount(image.ravel(), minlength=3) for image in predicted])
    for c in np.flatnonzero((counts > 0).all(axis=0)):
        assert (got[f"class{c}/scores"] != 0).all(), f"class {c}: a zero score on {backend}"
        assert (np.abs(got[f"class{c}/raw"]).max(axis=(1, 2)) > 0).all(), f"class {c}: no CAM"
    assert fingerprint(model, IMAGES) == before


if __name__ == "__main__":
    assert keras.config.backend() == "tensorflow", "run with KERAS_BACKEND=tensorflow"
    arrays = results(segformer())
    np.savez_compressed(REFERENCE, **arrays)
    counts = [np.bincount(p.ravel(), minlength=3).tolist() for p in arrays["predicted"]]
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes); classes per image {counts}")
