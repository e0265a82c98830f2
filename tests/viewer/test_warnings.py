"""Warnings the kernel raises: a direct `explain` call's point at the caller's line; in
the viewer they are the status line's notice, and nothing is printed."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from cam_widgets import explain
from cam_widgets.viewer import CamViewer
from cam_widgets.viewer.transport import RecordingTransport


def tiny(final: str = "softmax", hidden: str = "relu") -> keras.Model:
    """A fresh model (the unscaled-pixels warning is given once per model) with no
    rescaling at its front."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(3, 3, padding="same", name="conv")(inputs)
    x = keras.layers.Activation(hidden, name="act")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation=final)(x))


PIXELS = np.random.default_rng(0).integers(0, 256, (1, 8, 8, 3)).astype(np.float32)
OPAQUE = keras.layers.Lambda(lambda t: keras.ops.softmax(t), name="opaque")


def opaque_softmax() -> keras.Model:
    """A softmax hidden in a Lambda layer: logits=True cannot reach the logits."""
    model = tiny(final="linear")
    return keras.Model(model.inputs, OPAQUE(model.outputs[0]))


@pytest.mark.parametrize("model, kwargs, message", [
    (tiny, {}, "does not rescale them"),
    (opaque_softmax, {}, "looks like probabilities"),
    (lambda: tiny(hidden="leaky_relu"), {"guided": True}, "partly vanilla"),
], ids=["unscaled", "probabilities", "guided coverage"])
def test_explains_warnings_point_at_the_callers_line(model, kwargs, message):
    images = PIXELS if message == "does not rescale them" else PIXELS / 255.0
    with pytest.warns(UserWarning, match=message) as caught:
        explain(model(), images, **kwargs)
    [warning] = [w for w in caught if message in str(w.message)]
    assert warning.filename == __file__


def test_the_viewer_shows_the_warning_as_its_notice_and_prints_nothing(monkeypatch, recwarn):
    monkeypatch.setattr(CamViewer, "transport_class", RecordingTransport)
    viewer = CamViewer(tiny(), prefetch=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning that escapes fails the test
        viewer.show(PIXELS[0])
    assert viewer.error is None
    status = viewer.parts.status.value
    assert "hold whole numbers up to" in status and "does not rescale them" in status
    assert "\n" not in status and len(recwarn) == 0
