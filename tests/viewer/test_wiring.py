"""The wiring alone: traits of a stand-in viewer (`fakes.Owner`), a fake kernel, and a
`RecordingTransport`: what a setting change computes, paints and writes on the page."""

from __future__ import annotations

import html

import numpy as np

from cam_widgets.viewer.state import EFFECTS, RECOMPUTE, ImageSet
from cam_widgets.viewer.transport import RecordingTransport
from cam_widgets.viewer.wiring import Wiring
from cam_widgets.viewer.words import ClassNames
from tests.viewer.fakes import LAYERS, FakeKernel, Owner, images

NAMES = ["disc", "square", "cross"]


def wired(kernel: FakeKernel | None = None, **traits) -> tuple[Owner, Wiring, FakeKernel]:
    """A wiring shown two images, its settings changes routed as `CamViewer` routes them."""
    kernel = kernel or FakeKernel()
    owner = Owner(**traits)
    wiring = Wiring(owner, kernel, ClassNames(NAMES), RecordingTransport(), 8, prefetch=False)
    owner.observe(lambda c: wiring.setting_changed(c["name"], EFFECTS[c["name"]] == RECOMPUTE),
                  names=list(EFFECTS))
    wiring.session.load(ImageSet(images(), 1, [3], None, 8, [(8, 8)]))
    wiring.new_images()
    return owner, wiring, kernel


def test_a_new_image_is_explained_and_the_page_says_what_was_explained():
    owner, wiring, kernel = wired()
    parts = wiring.parts
    assert len(kernel.calls) == 1 and (owner.target, owner.layer) == (2, "conv_b")
    assert parts.class_label.value == "explaining <b>cross</b> (class 2) · score 3 · p 0.7"
    assert parts.status.value.startswith("gradcam · cross (class 2) · layer conv_b (4×4) · ")
    caption = kernel.get_method("gradcam").caption  # what the method's contract says
    assert parts.caption.value == f"<small>{html.escape(caption)}</small>"
    assert [b.description for b in parts.top5_buttons[:3]] == ["cross 0.7", "disc 0.2",
                                                               "square 0.1"]
    assert parts.controls["image"].max == 1 and parts.controls["image"].layout.display is None
    assert (parts.controls["layer"].value, parts.controls["depth"].value) == ("conv_b", 1)
    assert parts.depth_label.value == "<small>depth 2 of 2: conv_b · 4×4</small>"
    assert parts.controls["target"].value == "cross (2)"
    assert len(parts.transport.log) == 1


def test_controls_set_traits_by_name_and_traits_move_controls():
    owner, wiring, kernel = wired()
    controls = wiring.parts.controls
    controls["depth"].value = 0
    assert owner.layer == "conv_a" and controls["layer"].value == "conv_a"
    assert kernel.calls[-1]["layer"] == "conv_a"
    controls["target"].value = "square (1)"
    assert owner.target == 1 and kernel.calls[-1]["target"] == 1
    controls["target"].value = "no such class"  # typed: the class stays
    assert owner.target == 1
    calls, log = len(kernel.calls), wiring.parts.transport.log
    owner.opacity = 0.8  # a repaint: no kernel call, no image data
    assert controls["opacity"].value == 0.8 and len(kernel.calls) == calls
    assert log[-1].nbytes == 0 and log[-1].opacity == 0.8
    wiring.parts.top5_buttons[1].click()  # disc, the runner-up
    assert owner.target == 0


def test_method_options_are_bound_like_every_other_control():
    owner, wiring, kernel = wired()
    owner.method = "smoothgrad"
    options = wiring.parts.method_options
    assert list(options.controls) == ["n_samples", "noise_level", "seed", "chunk_size"]
    n_samples = options.controls["n_samples"]
    n_samples.value = 3
    assert owner.options == {"n_samples": 3} and kernel.calls[-1]["n_samples"] == 3
    owner.options = {"seed": 7}  # code moves the controls: n_samples back to its default
    assert options.controls["seed"].value == 7 and n_samples.value == 25
    owner.method = "gradcam"
    assert owner.options == {} and options.controls == {} and options.box.children == ()
    n_samples.value = 4  # a control that left the page is bound to nothing
    assert owner.options == {}


def test_the_all_layers_switch_refills_the_menu_without_moving_the_layer():
    kernel = FakeKernel()
    kernel.main_layers = lambda model: LAYERS[1:]
    owner, wiring, kernel = wired(kernel)
    layer = wiring.parts.controls["layer"]
    assert [value for _, value in layer.options] == ["conv_b"]
    calls = len(kernel.calls)
    wiring.parts.all_layers.value = True
    assert [value for _, value in layer.options] == ["conv_a", "conv_b"]
    assert owner.layer == "conv_b" and layer.value == "conv_b" and len(kernel.calls) == calls
    assert wiring.parts.controls["depth"].value == 1


def test_a_kernel_warning_is_the_status_lines_notice_not_a_printed_warning(recwarn):
    kernel = FakeKernel()
    kernel.warn = "model 'tiny' does not rescale them before its first weights."
    owner, wiring, kernel = wired(kernel)
    status = wiring.parts.status.value
    assert status.endswith(" · model &#x27;tiny&#x27; does not rescale them before its "
                           "first weights.")
    assert len(recwarn) == 0


def test_a_failure_is_shown_and_the_next_change_recovers():
    kernel = FakeKernel()
    kernel.fail = ValueError("No layer 'conv_z'")
    owner, wiring, kernel = wired(kernel, layer="conv_z")
    parts = wiring.parts
    assert "No layer &#x27;conv_z&#x27;" in parts.error_box.value
    assert parts.error_box.layout.display is None and parts.class_label.value == ""
    assert parts.status.value.startswith("could not explain this setting")
    kernel.fail = None
    owner.layer = "conv_a"
    assert parts.error_box.layout.display == "none" and wiring.error_text == ""
    assert np.isfinite(wiring.session.shown.map).all()
