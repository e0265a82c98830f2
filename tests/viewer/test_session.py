"""The session alone: settings in, kernel calls through the explainer, frames out through
the transport (a `RecordingTransport`), and the callbacks the page listens to."""

from __future__ import annotations

import numpy as np

from cam_widgets import render
from cam_widgets.viewer.painter import Painter
from cam_widgets.viewer.session import Session
from cam_widgets.viewer.state import ImageSet, Settings
from cam_widgets.viewer.transport import RecordingTransport
from tests.viewer.fakes import FakeKernel, images, ramp


class Page:
    """What the page would be told."""

    def __init__(self) -> None:
        self.done, self.errors, self.busy = [], [], []
        self.settings = Settings()


def session(kernel: FakeKernel) -> tuple[Session, RecordingTransport, Page]:
    transport, page = RecordingTransport(), Page()
    s = Session(kernel, None, Painter(transport), lambda: page.settings, page.done.append,
                page.errors.append, page.busy.append, cache_size=8)
    s.load(ImageSet(images(), 1, [3], None, 8, [(8, 8)]))
    return s, transport, page


def test_a_request_computes_paints_and_reports():
    kernel = FakeKernel()
    s, transport, page = session(kernel)
    s.scheduler.request()  # no event loop: computed before it returns
    assert len(kernel.calls) == 1 and page.errors == [] and page.busy[-1] is False
    [explanation] = page.done
    assert explanation.settings.target == 2 and s.shown is explanation
    [sent] = transport.log
    assert sent.opacity == 0.5
    np.testing.assert_array_equal(sent.decoded("image")[..., :3], render.to_rgb8(images()[0]))
    np.testing.assert_array_equal(sent.decoded("heatmap"), render.colorize(ramp(8, 8), "jet"))


def test_an_opacity_repaint_sends_no_pixels_and_a_cached_setting_calls_nothing():
    kernel = FakeKernel()
    s, transport, page = session(kernel)
    s.scheduler.request()
    page.settings = Settings(opacity=0.25)
    s.repaint()
    assert transport.log[-1].nbytes == 0 and transport.log[-1].opacity == 0.25
    page.settings = Settings(image_index=1)
    s.scheduler.request()
    page.settings = Settings()
    s.scheduler.request()
    assert len(kernel.calls) == 2 and page.done[-1].source == "cached"
    # the first image again: its PNG is sent again (the canvas showed the second one)
    np.testing.assert_array_equal(transport.log[-1].decoded("image")[..., :3],
                                  render.to_rgb8(images()[0]))


def test_a_failure_shows_the_image_without_a_map_and_reports_the_error():
    kernel = FakeKernel()
    kernel.fail = ValueError("No layer 'conv_z'")
    s, transport, page = session(kernel)
    s.scheduler.request()
    assert page.done == [] and str(page.errors[0]) == "No layer 'conv_z'"
    assert s.shown is None
    sent = transport.log[-1]
    np.testing.assert_array_equal(sent.decoded("image")[..., :3], render.to_rgb8(images()[0]))
    assert (sent.decoded("heatmap")[..., :3] == 128).all() and sent.opacity == 0.0
