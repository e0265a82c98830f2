"""Honest maps and errors that keep the page (issue 20, items 4 and 5), on the wiring
with a fake kernel: a flat map says why and what to try, methods that give the same map
say so in the caption, a failure says whether a control can fix it and leaves the colour
bar and the layer menu drawn, refused option values and unknown classes get a message
beside their control."""

from __future__ import annotations

import html
from dataclasses import replace

import numpy as np
import pytest

from cam_widgets.class_names import ClassNames, imagenet_notice
from cam_widgets.viewer import failures, map_notes
from cam_widgets.viewer.explainer import Explanation
from cam_widgets.viewer.state import Settings
from tests.viewer.fakes import FakeKernel, ramp
from tests.viewer.test_wiring import wired


class ShapedKernel(FakeKernel):
    """The fake kernel, with a map per method: `maps[method]` (8 x 8), else the ramp."""

    def __init__(self, maps: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.maps = maps

    def explain(self, model, images, **kwargs):
        res = super().explain(model, images, **kwargs)
        chosen = self.maps.get(kwargs["method"])
        if chosen is not None:
            res.maps, res.raw = chosen[None], chosen[None]
        return res


ZERO = np.zeros((8, 8), np.float32)


# ------------------------------------------------------------------ flat maps
def test_a_map_that_is_zero_everywhere_says_why_and_what_to_try():
    owner, wiring, kernel = wired(ShapedKernel({"scorecam": ZERO, "gradcam": ZERO}))
    status = html.unescape(wiring.parts.status.value)
    assert status.endswith(
        " · the map is 0 everywhere: at this layer no location's weighted sum of channels "
        "is above 0 (every channel weight lowers the class score, or the weights are zero: "
        "an untrained model does this), and the ReLU keeps only what is above 0; try "
        "another class, another layer")  # Grad-CAM declares no options to try
    owner.method = "scorecam"
    status = html.unescape(wiring.parts.status.value)
    assert status.endswith("; try another class, another layer, max_channels (fewer "
                           "channels: those of largest variance), score=\"logit\" (a "
                           "saturated softmax hides the masks' differences)")
    owner.options = {"score": "logit", "max_channels": 2}  # tried both: not offered again
    assert html.unescape(wiring.parts.status.value).endswith("; try another class, another layer")
    lines = wiring.words.figure_captions(wiring.session.shown, "")
    assert lines[-1] == "note: the map is 0 everywhere"  # the saved picture says it too


def test_a_map_with_something_to_see_gets_no_flat_note():
    owner, wiring, kernel = wired()
    assert "everywhere" not in wiring.parts.status.value


def test_a_flat_map_of_a_pixel_method_blames_the_gradients_and_not_a_layer():
    saliency = FakeKernel().get_method("saliency")
    e = Explanation(Settings(method="saliency", target=1), ZERO, 1, 0.0, None, 0.0,
                    "full pass", values=ZERO)
    assert map_notes.flat_map_note(e, saliency) == (
        "the map is 0 everywhere: by this method no pixel changes the class score (zero "
        "gradients: a saturated or untrained model does this); try another class")
    constant = replace(e, values=np.full((8, 8), 0.25, np.float32))
    assert map_notes.flat_map_note(constant, saliency).startswith(
        "the map has one value everywhere: nothing stands out; try another class")


# ------------------------------------------------------------------ the same map
def test_methods_that_give_the_same_map_say_so_once_in_the_caption():
    flipped = ramp(8, 8)[:, ::-1].copy()
    owner, wiring, kernel = wired(ShapedKernel({"xgradcam": flipped}))
    caption = kernel.get_method("hirescam").caption
    owner.method = "hirescam"  # the fake gives Grad-CAM's ramp: the same picture
    assert wiring.parts.caption.value == \
        f"<small>{html.escape(caption)} · same map as gradcam for this model</small>"
    assert "same map" not in wiring.parts.status.value  # said once: in the caption
    same_height = wiring.pictures.figure().shape[0]
    owner.method = "xgradcam"  # another picture
    assert "same map" not in wiring.parts.caption.value
    assert not wiring.words.figure_captions(wiring.session.shown, "")[-1].startswith("note:")
    assert wiring.pictures.figure().shape[0] == same_height - 18  # one caption line less
    shown = wiring.session.shown
    assert wiring.words.figure_captions(shown, "", ["gradcam"])[-1] == \
        "note: same map as gradcam for this model"
    owner.method = "gradcam"  # from the cache: the two that match it
    assert wiring.parts.caption.value.endswith(" · same map as hirescam for this model</small>")
    owner.target = 0  # another class: nothing of it is cached yet for other methods
    assert "same map" not in wiring.parts.caption.value


def test_same_maps_compares_within_the_tolerance_and_only_the_same_view():
    base = Explanation(Settings(method="gradcam", layer="conv_b", target=2), ramp(4, 4), 2,
                       1.0, None, 0.0, "full pass")

    def other(method: str, shift: float, **settings) -> Explanation:
        return replace(base, settings=replace(base.settings, method=method, **settings),
                       map=base.map + np.float32(shift))

    cached = [other("hirescam", 0.0005), other("xgradcam", 0.002),
              other("layercam", 0.0, layer="conv_a"), other("gradcam++", 0.0, target=1),
              other("eigencam", 0.0)]
    assert map_notes.same_maps(base, cached, lambda name: True) == ["hirescam", "eigencam"]
    flat = replace(base, map=np.zeros((4, 4), np.float32))
    assert map_notes.same_maps(flat, [replace(flat, settings=replace(
        flat.settings, method="hirescam"))], lambda name: True) == []


# ------------------------------------------------------------------ failures
@pytest.mark.parametrize("error, stage, ran_before, several, fixable, status", [
    (ValueError("No layer 'conv_z'"), failures.KERNEL, False, False, True,
     "could not explain this setting (see below); change a control to retry"),
    (MemoryError(), failures.KERNEL, True, False, False,
     "out of memory (see below): no control can fix this; free memory (close other "
     "notebooks or models) or show a smaller image"),
    (type("ResourceExhaustedError", (Exception,), {})("OOM when allocating"),
     failures.KERNEL, True, False, False, "out of memory (see below): no control"),
    (RuntimeError("graph broken"), failures.KERNEL, False, False, False,
     "the model could not run on this image (see below): no control can fix this; "
     "check the model and the image"),
    (RuntimeError("graph broken"), failures.KERNEL, True, False, True,
     "could not explain this setting (see below); another method or layer may work"),
    (ValueError("expects 3 channels"), failures.IMAGE, False, False, False,
     "this image could not be fed to the model (see below): pass another image or fix "
     "`preprocess` and call show() again"),
    (ValueError("expects 3 channels"), failures.IMAGE, False, True, True,
     "this image could not be fed to the model (see below): pick another image, or pass"),
])
def test_a_failure_says_whether_a_control_can_fix_it(error, stage, ran_before, several,
                                                     fixable, status):
    failure = failures.describe(error, stage, ran_before, several)
    assert failure.fixable is fixable and failure.status.startswith(status)
    assert ("change a control" in failure.status) is (fixable and isinstance(
        error, ValueError) and stage == failures.KERNEL)


def test_after_an_error_the_colour_bar_and_the_layer_menu_stay_drawn():
    owner, wiring, kernel = wired()
    parts, bar = wiring.parts, wiring.layout.colour_bar
    drawn = bytes(bar.value)
    assert drawn[:8] == b"\x89PNG\r\n\x1a\n"
    kernel.fail = ValueError("No layer 'conv_z'")
    owner.layer = "conv_z"
    assert "No layer &#x27;conv_z&#x27;" in parts.error_box.value
    assert bytes(bar.value) == drawn and bar.layout.visibility is None  # not a broken image
    assert "cam-widgets-busy" in bar._dom_classes  # faded: it no longer matches the view
    layer = parts.controls["layer"]
    assert layer.value == "conv_z" and layer.options[-1] == ("conv_z · set from code", "conv_z")
    assert parts.status.value == \
        "could not explain this setting (see below); change a control to retry"
    kernel.fail = None
    layer.value = "conv_a"  # the menu entry of a real layer: a change, so a retry
    assert owner.layer == "conv_a" and wiring.error_text == ""
    assert "cam-widgets-busy" not in bar._dom_classes
    assert [value for _, value in layer.options] == ["conv_a", "conv_b"]


def test_an_error_no_control_can_fix_has_no_retry_hint():
    kernel = FakeKernel()
    kernel.fail = MemoryError()
    owner, wiring, kernel = wired(kernel)
    assert wiring.parts.status.value.startswith("out of memory (see below): no control can "
                                                "fix this")
    assert wiring.error_text == "MemoryError"
    assert wiring.layout.colour_bar.layout.visibility == "hidden"  # no bar yet: hidden


# ------------------------------------------------------------------ messages beside controls
def test_a_refused_option_value_is_said_beside_its_box_never_clamped():
    owner, wiring, kernel = wired()
    owner.method = "smoothgrad"
    options = wiring.parts.method_options
    n_samples, message = options.controls["n_samples"], options.messages["n_samples"]
    calls = len(kernel.calls)
    n_samples.value = -3
    assert n_samples.value == -3 and owner.options == {} and len(kernel.calls) == calls
    assert message.layout.display is None and html.unescape(message.value) == (
        '<div class="cam-widgets-error" style="line-height: 1.3"><small>Option \'n_samples\' of \'smoothgrad\' must be '
        "int in [1, 10000]; got -3.</small></div>")
    owner.opacity = 0.7  # another setting: the refused value and its message stay
    assert n_samples.value == -3 and message.layout.display is None
    n_samples.value = 5
    assert owner.options == {"n_samples": 5} and message.layout.display == "none"
    assert kernel.calls[-1]["n_samples"] == 5


def test_a_stride_that_is_not_a_number_is_said_beside_its_box():
    owner, wiring, kernel = wired()
    owner.method = "occlusion"
    options = wiring.parts.method_options
    stride = options.controls["stride"]
    stride.value = "abc"
    assert owner.options == {} and stride.value == "abc"
    assert "Option &#x27;stride&#x27; of &#x27;occlusion&#x27; must be int" in \
        options.messages["stride"].value
    owner.options = {"stride": 4}  # code sets it: the box follows, the message goes
    assert stride.value == "4" and options.messages["stride"].layout.display == "none"


@pytest.mark.parametrize("typed, message", [
    ("crss", "no class 'crss': type a name from the list or an index 0-2. Did you mean "
             "'cross'?"),
    ("7", "no class 7: this model has 3 classes (0-2)."),
    ("zebra", "no class 'zebra': type a name from the list or an index 0-2."),
])
def test_a_typed_class_that_does_not_exist_is_said_beside_the_picker(typed, message):
    owner, wiring, kernel = wired()
    picker, line = wiring.parts.controls["target"], wiring.parts.class_message
    calls = len(kernel.calls)
    picker.value = typed
    assert owner.target == 2 and len(kernel.calls) == calls and picker.value == typed
    assert line.layout.display is None and html.unescape(line.value) == \
        f'<div class="cam-widgets-error" style="line-height: 1.3"><small>{message}</small></div>'
    picker.value = "disc"
    assert owner.target == 0 and line.layout.display == "none"


# ------------------------------------------------------------------ ImageNet names offline
def test_imagenet_names_offline_say_why_once_and_what_to_pass(monkeypatch):
    import keras.applications.imagenet_utils as imagenet_utils

    offline = Exception("URL fetch failure on https://storage.googleapis.com/download."
                        "tensorflow.org/data/imagenet_class_index.json: None -- [Errno -2] "
                        "Name or service not known")
    assert imagenet_notice(offline) == (
        "ImageNet class names not loaded: no network: Keras downloads the ImageNet class "
        "names once (~/.keras/models/imagenet_class_index.json) and could not reach the "
        "server. Showing class indices; pass class_names= a list of the 1000 names, or "
        "copy imagenet_class_index.json to ~/.keras/models/imagenet_class_index.json")
    missing = FileNotFoundError(2, "No such file or directory")
    assert imagenet_notice(missing).startswith(
        "ImageNet class names not loaded: the file ~/.keras/models/imagenet_class_index.json "
        "is missing or unreadable ([Errno 2] No such file or directory). Showing")

    def decode_offline(preds, top=5):
        raise offline

    monkeypatch.setattr(imagenet_utils, "decode_predictions", decode_offline)
    owner, wiring, kernel = wired()
    wiring.words.class_names = ClassNames("imagenet")
    seen = []
    wiring.parts.status.observe(lambda c: seen.append(c["new"]), names="value")
    for index in (1, 0, 1):
        owner.image_index = index
    said = [line for line in seen if "ImageNet class names not loaded" in line]
    assert len(said) == 1 and "no network" in said[0]
    assert wiring.words.name(1) == "class 1"
