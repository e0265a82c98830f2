"""CamViewer headless on this backend (the transport records what it would send, as in
tests/test_viewer.py): show, a class change, an opacity repaint without the kernel, the
snapshot."""
from __future__ import annotations

import ipywidgets
import numpy as np
import pytest

import cam_widgets.viewer.facade as viewer_module
from cam_widgets import explain, render
from cam_widgets.viewer import CamViewer
from cam_widgets.viewer.transport import RecordingTransport

_REAL_KERNEL = viewer_module.load_kernel


class CountingKernel:
    """The real kernel, counting its `explain` calls."""

    def __init__(self) -> None:
        real = _REAL_KERNEL()
        # every kernel name the viewer uses, as it is, but `explain`: counted below
        vars(self).update({k: v for k, v in vars(real).items() if k != "explain"})
        self._explain = real.explain
        self.calls: list[dict] = []

    def explain(self, model, images, **kwargs):
        self.calls.append(kwargs)
        return self._explain(model, images, **kwargs)

    @property
    def full_passes(self) -> list[dict]:
        return [call for call in self.calls if call.get("activations") is None]


@pytest.fixture
def kernel(monkeypatch) -> CountingKernel:
    counting = CountingKernel()
    monkeypatch.setattr(viewer_module, "load_kernel", lambda: counting)
    monkeypatch.setattr(CamViewer, "transport_class", RecordingTransport)
    return counting


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32)


def strip(snapshot_or_panels: np.ndarray) -> tuple[np.ndarray, ...]:
    width = snapshot_or_panels.shape[1] // 3
    return tuple(snapshot_or_panels[:, i * width:(i + 1) * width] for i in range(3))


def test_show_draws_the_kernels_map_and_a_snapshot(saved, images, kernel):
    model = saved("cnn")
    viewer = CamViewer(model, class_names=["a", "b", "c", "d"])
    widget = viewer.show(images[0])
    assert isinstance(widget, ipywidgets.DOMWidget) and len(kernel.calls) == 1
    expected = explain(model, images[:1]).maps[0]
    np.testing.assert_allclose(viewer.current_map, expected, atol=1e-5)
    image, heat, _ = strip(viewer.panels())
    np.testing.assert_array_equal(image[..., :3], render.to_rgb8(images[0]))
    np.testing.assert_array_equal(heat, render.colorize(viewer.current_map, "jet"))
    sent = viewer.parts.transport.log[-1]
    np.testing.assert_array_equal(sent.decoded("heatmap"), heat)
    snapshot = viewer.snapshot()
    assert snapshot.dtype == np.uint8 and snapshot.ndim == 3 and snapshot.shape[2] == 4
    assert snapshot.shape[0] > viewer.panels().shape[0] and snapshot.shape[1] % 3 == 0
    assert (snapshot[..., 3] == 255).all()


def test_a_class_change_reuses_the_activations_and_opacity_calls_nothing(saved, images, kernel):
    model = saved("cnn")
    viewer = CamViewer(model)
    viewer.show(images[1])
    other = (viewer.settings.target + 1) % 4
    viewer.target = other
    assert len(kernel.full_passes) == 1 and len(kernel.calls) == 2
    np.testing.assert_allclose(viewer.current_map,
                               explain(model, images[1:2], target=other).maps[0], atol=1e-5)
    kernel.calls.clear()
    before = viewer.parts.transport.bytes_sent
    viewer.opacity = 0.25  # the public traits, as a notebook sets them
    assert kernel.calls == [] and viewer.parts.transport.bytes_sent == before
    image, heat, overlay = strip(viewer.panels())
    blend = 0.75 * image[..., :3].astype(float) + 0.25 * heat[..., :3].astype(float)
    assert np.abs(overlay[..., :3] - blend).max() <= 1.0


def test_guided_and_method_changes_match_explain(saved, images, kernel):
    model = saved("bn_relu")
    viewer = CamViewer(model)
    viewer.show(images[2])
    viewer.method = "saliency"
    viewer.guided = True
    assert viewer.error is None
    expected = explain(model, images[2:3], method="saliency", guided=True,
                       target=viewer.settings.target).maps[0]
    np.testing.assert_allclose(viewer.current_map, expected, atol=1e-5)
