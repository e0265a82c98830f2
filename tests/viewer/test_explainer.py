"""The explainer alone: kernel calls for settings, its caches, and the warnings raised
while it computes turned into the map's note (through a fake kernel, `fakes`)."""

from __future__ import annotations

import numpy as np
import pytest

from cam_widgets import render
from cam_widgets.viewer.explainer import Explainer
from cam_widgets.viewer.state import ImageSet, Settings
from tests.viewer.fakes import PREDICTIONS, FakeKernel, images, ramp


def explainer(kernel: FakeKernel, max_display: int = 8, **kwargs) -> Explainer:
    loaded = ImageSet(images(), 1, [3], None, max_display, [(8, 8)])
    return Explainer(kernel, None, loaded, **kwargs)


def run(e: Explainer, s: Settings):
    explanation, activations = e.job(s)()
    e.store(s, explanation, activations)
    return explanation


def test_a_job_resolves_the_settings_and_paints_at_the_display_size():
    kernel = FakeKernel()
    e = explainer(kernel, max_display=4)  # shown at 4 x 4, computed at 8 x 8
    explanation = run(e, Settings())
    call = kernel.calls[-1]
    assert call["target"] is None and call["layer"] is None and call["method"] == "gradcam"
    assert call["images"].shape == (1, 8, 8, 3)
    assert (explanation.settings.layer, explanation.settings.target) == ("conv_b", 2)
    assert explanation.target == 2 and explanation.score == 3.0
    np.testing.assert_array_equal(explanation.predictions, PREDICTIONS)
    assert explanation.source == "full pass" and explanation.note == ""
    np.testing.assert_allclose(explanation.map, np.clip(render.resize(ramp(8, 8), (4, 4)),
                                                        0, 1))
    np.testing.assert_allclose(explanation.values, render.resize(3 * ramp(8, 8), (4, 4)))


def test_the_same_map_asked_again_is_cached_and_a_new_class_reuses_activations():
    kernel = FakeKernel()
    e = explainer(kernel)
    run(e, Settings())
    hit = e.cached(Settings(opacity=0.9))  # "the top class at the default layer" resolved
    assert hit is not None and hit.source == "cached" and hit.settings.opacity == 0.9
    assert hit.settings.target == 2 and hit.settings.layer == "conv_b"
    assert e.cached(Settings(target=0)) is None
    explanation = run(e, Settings(target=0))
    assert kernel.calls[-1]["activations"] is not None and kernel.calls[-1]["layer"] == "conv_b"
    assert explanation.source == "from cached activations" and explanation.target == 0
    assert len(kernel.calls) == 2
    # the shared colour scale's peak: the largest map of this image and layer, any class
    assert e.shared_peak(Settings(target=0, layer="conv_b")) == pytest.approx(3.0)


def test_warnings_while_computing_become_the_note_and_are_not_printed(recwarn):
    kernel = FakeKernel()
    kernel.warn = "The images for input 0 hold whole numbers up to 255 (0..255 pixels?)\n" \
                  "and more on a second line."
    explanation = run(explainer(kernel), Settings())
    assert explanation.note == ("The images for input 0 hold whole numbers up to 255 "
                                "(0..255 pixels?) and more on a second line.")
    assert len(recwarn) == 0


def test_a_failing_call_raises_from_the_job():
    kernel = FakeKernel()
    kernel.fail = ValueError("No layer 'conv_z'")
    with pytest.raises(ValueError, match="No layer 'conv_z'"):
        explainer(kernel).job(Settings(layer="conv_z"))()
