"""What the viewer's test files share: a tiny model and images, the real kernel counting
its calls (`kernel`), and what our transport sent (`wire`)."""
from __future__ import annotations

import time

import keras
import numpy as np
import pytest

import cam_widgets.viewer.facade as viewer_module
from cam_widgets.viewer import CamViewer
from cam_widgets.viewer.transport import RecordingTransport

_REAL_KERNEL = viewer_module.load_kernel


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(1)
    inputs = keras.Input((16, 16, 3), name="pixels")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(5, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="tiny")


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((3, 16, 16, 3)).astype(np.float32)


class CountingKernel:
    """The real kernel, counting (and optionally slowing) every `explain` call."""

    def __init__(self, delay: float = 0.0) -> None:
        real = _REAL_KERNEL()
        # every kernel name the viewer uses, as it is, but `explain`: counted below
        vars(self).update({k: v for k, v in vars(real).items() if k != "explain"})
        self._explain = real.explain
        self.delay = delay
        self.calls: list[dict] = []
        self.running = 0

    def explain(self, model, images, **kwargs):
        self.calls.append(dict(kwargs, images=images))
        self.running += 1
        try:
            if self.delay:
                time.sleep(self.delay)
            return self._explain(model, images, **kwargs)
        finally:
            self.running -= 1

    @property
    def full_passes(self) -> list[dict]:
        return [c for c in self.calls if c.get("activations") is None]


@pytest.fixture
def kernel(monkeypatch) -> CountingKernel:
    counting = CountingKernel()
    monkeypatch.setattr(viewer_module, "load_kernel", lambda: counting)
    return counting


class Wire:
    """What our transport sent, for every viewer made while the fixture is active."""

    def __init__(self) -> None:
        self.viewers: list[CamViewer] = []

    @property
    def messages(self) -> list:
        return self.viewers[-1].parts.transport.log if self.viewers else []

    def drawn(self, viewer: CamViewer, message: int = -1) -> dict[str, np.ndarray]:
        """{panel: pixels} of the images one message carried (the overlay is the browser's)."""
        sent = viewer.parts.transport.log[message]
        return {name: sent.decoded(name) for name in ("image", "heatmap")
                if getattr(sent, name) is not None}


@pytest.fixture
def wire(monkeypatch) -> Wire:
    captured = Wire()

    original_init = CamViewer.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        captured.viewers.append(self)

    monkeypatch.setattr(CamViewer, "transport_class", RecordingTransport)
    monkeypatch.setattr(CamViewer, "__init__", init)
    return captured
