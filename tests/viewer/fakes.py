"""A stand-in kernel and viewer for testing the viewer's parts one at a time.

`FakeKernel` is the `load_kernel()` namespace (the viewer's one seam to the kernel) with
the method registry of the real kernel and a model side of literal values: two spatial
layers, three classes, and maps that are a known ramp. `Owner` has the `CamViewer`
traits and `settings`, and nothing else.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Float, HasTraits, Int, Unicode

from cam_widgets.kernel import LayerInfo
from cam_widgets.viewer.facade import load_kernel
from cam_widgets.viewer.state import Settings

LAYERS = [LayerInfo("conv_a", "Conv2D", (None, 8, 8, 4), True),
          LayerInfo("conv_b", "Conv2D", (None, 4, 4, 6), True)]
PREDICTIONS = np.array([0.2, 0.1, 0.7], np.float32)  # class 2 is the top one


def ramp(height: int, width: int) -> np.ndarray:
    """The map every fake call returns: 0 on the left column, 1 on the right one."""
    return np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))


class FakeKernel(SimpleNamespace):
    """The real registry; a model of literal layers, classes and maps; every `explain`
    call recorded. `warn` makes the next calls warn as the kernel does."""

    def __init__(self) -> None:
        real = load_kernel()
        super().__init__(get_method=real.get_method, method_names=real.method_names,
                         looks_like_probabilities=real.looks_like_probabilities,
                         SegmentationTarget=real.SegmentationTarget)
        self.calls: list[dict[str, Any]] = []
        self.warn = ""
        self.fail: BaseException | None = None
        self.quick = False  # whether an uncompiled first call is quicker (TensorFlow)

    def quick_first_call(self) -> bool:
        return self.quick

    def list_layers(self, model: Any) -> list[LayerInfo]:
        return LAYERS

    def main_layers(self, model: Any) -> list[LayerInfo]:
        return LAYERS

    def class_count(self, model: Any) -> int:
        return 3

    def predicted_classes(self, model: Any, predictions: np.ndarray) -> np.ndarray:
        return np.argmax(predictions, axis=-1)

    def is_dense_output(self, model: Any) -> bool:
        return False

    def explain(self, model: Any, images: np.ndarray, **kwargs: Any) -> SimpleNamespace:
        self.calls.append(dict(kwargs, images=images))
        if self.warn:
            warnings.warn(self.warn, UserWarning, stacklevel=2)  # the caller's line
        if self.fail is not None:
            raise self.fail
        height, width = images.shape[1:3]
        target = kwargs.get("target")
        target = 2 if target is None else int(target)
        layer = kwargs.get("layer") or "conv_b"
        raw = ramp(height, width)[None] * (target + 1)
        return SimpleNamespace(
            maps=ramp(height, width)[None], raw=raw, targets=np.array([target]),
            scores=np.array([float(target + 1)], np.float32), layer=layer,
            predictions=PREDICTIONS[None], activations=np.ones((1, 4, 4, 6), np.float32),
            signed=False, guided_coverage=None)


class Owner(HasTraits):
    """The settings of a `CamViewer` as traits (no validation, no widgets)."""

    method = Unicode("gradcam")
    layer = AnyTrait(None, allow_none=True)
    target = AnyTrait(None, allow_none=True)
    guided = Bool(False)
    opacity = Float(0.5)
    colormap = Unicode("auto")
    scale = Unicode("map")
    image_index = Int(0)
    input_index = Int(0)
    options = Dict()
    region = AnyTrait(None, allow_none=True)
    depths = Bool(False)

    model = SimpleNamespace(inputs=[SimpleNamespace(name="pixels", shape=(None, 8, 8, 3))])

    @property
    def settings(self) -> Settings:
        return Settings.of(self)


def images(count: int = 2) -> np.ndarray:
    """`count` distinct 8 x 8 RGB images in [0, 1]."""
    return np.random.default_rng(0).random((count, 8, 8, 3)).astype(np.float32)
