"""CamViewer: the state machine (a counting wrapper around the real kernel), the pixels the
canvases were sent (decoded from our transport's log), errors, and the static PNG."""

from __future__ import annotations

import asyncio
import base64
import html
import io
import time
from types import SimpleNamespace

import ipywidgets
import keras
import numpy as np
import pytest
from PIL import Image

import cam_widgets.viewer.facade as viewer_module
from cam_widgets.kernel import quick_first_call
from cam_widgets import render
from cam_widgets.viewer import CamViewer
from cam_widgets.viewer.scheduler import LatestWins

from tests.viewer_helpers import (  # noqa: F401 (fixtures)
    _REAL_KERNEL, CountingKernel, Wire, images, kernel, model, wire)


def panels(snapshot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width = snapshot.shape[1] // 3
    return snapshot[:, :width], snapshot[:, width : 2 * width], snapshot[:, 2 * width :]


def expected_map(model, image, **kwargs) -> np.ndarray:
    """The map as the kernel computes it in one full call, at the image's size."""
    result = _REAL_KERNEL().explain(model, image[None], **kwargs)
    return result.maps[0]


# ------------------------------------------------------------------ show / snapshot / PNG
def test_show_returns_the_widget_with_a_png_of_the_view(model, images, kernel, wire, tmp_path):
    viewer = CamViewer(model, class_names=["disc", "square", "cross", "ring", "bar"])
    widget = viewer.show(images[0])
    assert isinstance(widget, ipywidgets.DOMWidget)
    bundle = widget._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    png = np.asarray(Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))))
    snapshot = viewer.snapshot()
    np.testing.assert_array_equal(png, snapshot)
    # the figure: captions above, the three panels enlarged 12x (nearest: 192 px tall),
    # the colour bar below the heatmap
    strip = np.repeat(np.repeat(viewer.panels(), 12, axis=0), 12, axis=1)
    top = snapshot.shape[0] - strip.shape[0]
    rows = [r for r in range(top + 1) if np.array_equal(snapshot[r : r + 192], strip)]
    assert len(rows) == 1 and rows[0] > 30  # caption lines above it
    assert snapshot.shape[1] == 3 * 192 and (snapshot[..., 3] == 255).all()
    viewer.save(tmp_path / "view.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "view.png")), snapshot)
    assert len(kernel.calls) == 1


def test_image_and_heatmap_are_sent_once_as_rgba_png_and_the_overlay_composed(
    model, images, kernel, wire
):
    viewer = CamViewer(model, opacity=0.4, colormap="viridis")
    viewer.show(images[0])
    assert len(wire.messages) == 1  # one hold_canvas() message for the first paint
    sent = wire.messages[0]
    assert sent.opacity == 0.4 and sent.nbytes == viewer.parts.transport.bytes_sent > 0
    image, heat, overlay = panels(viewer.panels())
    drawn = wire.drawn(viewer)
    assert set(drawn) == {"image", "heatmap"}
    np.testing.assert_array_equal(drawn["image"], image)
    np.testing.assert_array_equal(drawn["heatmap"], heat)
    np.testing.assert_array_equal(image[..., :3], render.to_rgb8(images[0]))
    np.testing.assert_allclose(viewer.current_map, expected_map(model, images[0]), atol=1e-5)
    np.testing.assert_array_equal(heat, render.colorize(viewer.current_map, "viridis"))
    blend = 0.6 * image[..., :3].astype(float) + 0.4 * heat[..., :3].astype(float)
    assert np.abs(overlay[..., :3] - blend).max() <= 1.0


# ------------------------------------------------------------------ recompute vs repaint
def test_opacity_sends_no_image_data_and_colormap_only_the_heatmap(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images[0])
    kernel.calls.clear()
    for opacity in (0.0, 0.3, 0.75, 1.0):
        before, sent_bytes = len(wire.messages), viewer.parts.transport.bytes_sent
        viewer.parts.controls["opacity"].value = opacity
        assert len(wire.messages) == before + 1
        assert wire.messages[-1].nbytes == 0 and viewer.parts.transport.bytes_sent == sent_bytes
        assert wire.messages[-1].opacity == opacity
        image, heat, overlay = panels(viewer.panels())
        blend = (1 - opacity) * image[..., :3].astype(float) + opacity * heat[..., :3].astype(float)
        assert np.abs(overlay[..., :3] - blend).max() <= 1.0
    for name in ("viridis", "inferno", "turbo", "gray", "jet"):
        viewer.parts.controls["colormap"].value = name
        drawn = wire.drawn(viewer)
        assert set(drawn) == {"heatmap"}
        np.testing.assert_array_equal(drawn["heatmap"], render.colorize(viewer.current_map, name))
    assert kernel.calls == []


def test_a_class_change_on_the_same_layer_reuses_its_activations(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images[0])
    assert len(kernel.full_passes) == 1
    other = (viewer.settings.target + 1) % 5
    viewer.target = other
    assert len(kernel.calls) == 2 and len(kernel.full_passes) == 1
    call = kernel.calls[-1]
    assert call["layer"] == viewer.settings.layer == "conv_b" and call["target"] == other
    np.testing.assert_allclose(
        viewer.current_map, expected_map(model, images[0], target=other), atol=1e-5
    )
    viewer.parts.controls["method"].value = "gradcam++"  # another CAM on the same layer: same reuse
    assert len(kernel.full_passes) == 1
    np.testing.assert_allclose(
        viewer.current_map,
        expected_map(model, images[0], target=other, method="gradcam++"),
        atol=1e-5,
    )


def test_coming_back_to_a_cached_setting_calls_nothing(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images)
    viewer.parts.follow.value = False  # so that the class stays put when the image changes
    first = viewer.settings
    tour = [
        ("target", "class 3"),  # the class picker's text ("name (index)" when named)
        ("layer", "conv_a"),
        ("method", "saliency"),
        ("guided", True),
        ("image", 2),
        ("method", "layercam"),
        ("target", "1"),
    ]
    previous = []
    for name, value in tour:
        previous.append((name, viewer.parts.controls[name].value))
        viewer.parts.controls[name].value = value
    made = len(kernel.calls)
    for name, value in reversed(previous):  # walk back through every earlier setting
        viewer.parts.controls[name].value = value
        assert viewer.error is None
    assert len(kernel.calls) == made
    assert viewer.settings == first
    assert "cached" in viewer.parts.status.value


def test_a_new_image_explains_its_top_prediction_unless_told_not_to(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images)
    predicted = np.argmax(model.predict(images, verbose=0), axis=1)
    for index in (1, 2, 0):
        viewer.target = (predicted[index - 1] + 2) % 5  # not the top class
        viewer.parts.controls["image"].value = index
        assert viewer.settings.target == predicted[index]
    viewer.parts.follow.value = False
    viewer.target = 4
    viewer.parts.controls["image"].value = 1
    assert viewer.settings.target == 4


# ------------------------------------------------------------------ coalescing, busy
def test_a_burst_of_slider_moves_ends_in_a_few_computations_of_the_latest(
    model, images, wire, monkeypatch
):
    kernel = CountingKernel(delay=0.05)
    monkeypatch.setattr(viewer_module, "load_kernel", lambda: kernel)

    async def drag() -> CamViewer:
        viewer = CamViewer(model, prefetch=False)
        viewer.show(images)
        viewer.parts.follow.value = False
        kernel.calls.clear()
        for tick in range(100):  # as the kernel dispatches them: one message at a time
            viewer.parts.controls["depth"].value = tick % 2
            viewer.target = (tick * 3) % 5
            viewer.parts.controls["image"].value = tick % 3
            await asyncio.sleep(0)
        viewer.parts.controls["image"].value, viewer.target = 1, 2
        viewer.parts.controls["layer"].value = "conv_a"
        await viewer.wait()
        return viewer

    viewer = asyncio.run(drag())
    assert 1 <= len(kernel.calls) <= 3
    s = viewer.settings
    assert (s.image_index, s.target, s.layer) == (1, 2, "conv_a")
    np.testing.assert_allclose(
        viewer.current_map, expected_map(model, images[1], target=2, layer="conv_a"), atol=1e-5
    )
    _, heat, _ = panels(viewer.panels())
    np.testing.assert_array_equal(heat, render.colorize(viewer.current_map, "jet"))
    np.testing.assert_array_equal(wire.drawn(viewer)["heatmap"], heat)


def test_while_computing_a_busy_line_shows_and_opacity_still_repaints(
    model, images, wire, monkeypatch
):
    kernel = CountingKernel(delay=0.3)
    monkeypatch.setattr(viewer_module, "load_kernel", lambda: kernel)

    async def scenario() -> tuple[str, int, CamViewer]:
        viewer = CamViewer(model, prefetch=False)
        viewer.show(images[0])
        viewer.target = (viewer.settings.target + 1) % 5
        await asyncio.sleep(0.05)
        assert "computing" not in viewer.parts.status.value  # a short computation shows nothing
        await asyncio.sleep(0.15)
        busy = viewer.parts.status.value
        dimmed = {n for n, box in viewer.parts.layout.boxes.items() if "cam-widgets-busy" in box._dom_classes}
        assert dimmed == {"heatmap", "overlay"}  # the panels that will change
        assert kernel.running == 1  # the model runs on a worker thread ...
        before = len(wire.messages)
        viewer.parts.controls["opacity"].value = 0.9  # ... and the loop still serves the controls
        await asyncio.sleep(0.01)
        repainted = len(wire.messages) - before
        assert kernel.running == 1
        await viewer.wait()
        return busy, repainted, viewer

    busy, repainted, viewer = asyncio.run(scenario())
    assert busy.startswith("computing gradcam · class ") and "layer conv_b" in busy
    assert repainted == 1
    assert not viewer.parts.status.value.startswith("computing") and " ms, " in viewer.parts.status.value
    assert not any("cam-widgets-busy" in box._dom_classes for box in viewer.parts.layout.boxes.values())


def test_latest_wins_scheduler_without_widgets():
    applied, started = [], []
    state = {"value": 0}

    def prepare():
        asked = state["value"]
        started.append(asked)
        return asked, lambda: (time.sleep(0.02), asked * 10)[1]

    def finish(token, result, error):
        applied.append((token, result))

    async def burst():
        scheduler = LatestWins(prepare, finish, lambda busy: None)
        for value in range(1, 101):
            state["value"] = value
            scheduler.request()
            if value % 10 == 0:
                await asyncio.sleep(0)
        await scheduler.wait()
        return scheduler

    scheduler = asyncio.run(burst())
    assert scheduler.runs == len(started) <= 3
    assert applied[-1] == (100, 1000)
    # without a running loop every request is applied before it returns
    sync = LatestWins(prepare, finish, lambda busy: None)
    state["value"] = 7
    sync.request()
    assert applied[-1] == (7, 70) and sync.idle


def test_snapshot_in_a_running_loop_applies_pending_changes(model, images, kernel, wire):
    async def scenario() -> CamViewer:
        viewer = CamViewer(model, prefetch=False)
        viewer.show(images[0])
        viewer.parts.controls["layer"].value = "conv_a"
        viewer.snapshot()  # a cell that changes a control and then reads the view
        assert viewer.settings.layer == "conv_a"
        return viewer

    viewer = asyncio.run(scenario())
    np.testing.assert_allclose(
        viewer.current_map, expected_map(model, images[0], layer="conv_a"), atol=1e-5
    )


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "layer, message", [("conv_z", "No layer 'conv_z'"), ("head", "needs a spatial layer")]
)
def test_a_layer_that_cannot_be_explained_shows_the_kernels_message(
    model, images, kernel, wire, layer, message
):
    viewer = CamViewer(model)  # an unknown name given here fails at once (tests/viewer/test_inputs.py)
    viewer.layer = layer  # set later (from code, or a menu): the message comes with the view
    viewer.show(images[0])
    assert message in viewer.error
    assert (
        html.escape(message) in viewer.parts.error_box.value and viewer.parts.error_box.layout.display != "none"
    )
    image, heat, overlay = panels(viewer.panels())  # the image is still shown
    np.testing.assert_array_equal(image[..., :3], render.to_rgb8(images[0]))
    np.testing.assert_array_equal(overlay, image)
    assert viewer.current_map is None
    viewer.parts.controls["layer"].value = "conv_a"  # the next valid change recovers
    assert viewer.error is None and viewer.parts.error_box.layout.display == "none"
    np.testing.assert_allclose(
        viewer.current_map, expected_map(model, images[0], layer="conv_a"), atol=1e-5
    )


def test_a_bad_image_shows_a_message_and_the_next_image_recovers(model, images, kernel, wire):
    viewer = CamViewer(model)
    large = np.random.rand(20, 20, 3)
    viewer.show([images[0], np.zeros((4, 4, 2)), images[2], large])
    assert viewer.error is None
    viewer.parts.controls["image"].value = 1
    assert "got shape (4, 4, 2)" in viewer.error
    viewer.parts.controls["image"].value = 2
    assert viewer.error is None and viewer.current_map is not None
    viewer.parts.controls["image"].value = 3  # not the model's size: resized, with a notice
    assert viewer.error is None
    assert "image resized from 20×20 to 16×16 (width×height, bilinear), the model&#x27;s input" in (
        viewer.parts.status.value)
    assert viewer.current_map.shape == (20, 20)  # drawn over the image as given
    fitted = render.resize(large[..., 0].astype(np.float32), (16, 16))
    np.testing.assert_allclose(kernel.calls[-1]["images"][0, ..., 0], fitted, atol=1e-6)
    viewer.parts.controls["image"].value = 0
    assert viewer.error is None and "resized" not in viewer.parts.status.value


def test_a_channel_mismatch_says_how_to_fix_it(model, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(np.random.default_rng(2).random((16, 16, 1)))
    assert viewer.error.startswith("the model expects 3 channel(s) (RGB), this image has 1 (grey)")
    assert "np.repeat(images, 3, axis=-1)" in viewer.error and "resize" not in viewer.error
    viewer.show(np.random.default_rng(2).random((16, 16, 4)))
    assert "Drop the alpha channel: `images[..., :3]`" in viewer.error
    assert kernel.calls == []


@pytest.mark.parametrize("bad", ["no/such/image.png", None, np.zeros(7)])
def test_show_of_a_bad_image_is_reported_in_the_widget(model, images, kernel, wire, bad):
    viewer = CamViewer(model)
    widget = viewer.show(bad)
    assert viewer.error and isinstance(widget, ipywidgets.Widget)
    assert viewer.snapshot().shape[2] == 4
    viewer.show(images[0])
    assert viewer.error is None and viewer.current_map is not None


def test_a_failing_preprocess_is_reported(model, images, kernel, wire):
    def preprocess(batch):
        raise RuntimeError("preprocess broke")

    viewer = CamViewer(model, preprocess=preprocess)
    viewer.show(images[0])
    assert viewer.error == "RuntimeError: preprocess broke"
    assert kernel.calls == []
    # no control can fix it: the status line says what can, not "change a control"
    assert viewer.parts.status.value == (
        "this image could not be fed to the model (see below): pass another image or fix "
        "`preprocess` and call show() again")


# ------------------------------------------------------------------ inputs and controls
def test_preprocess_feeds_the_model_and_the_raw_image_is_shown(model, kernel, wire):
    raw = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    seen = []

    def preprocess(batch):
        seen.append(batch.copy())
        batch[...] = 0  # writing into its argument must not change what is shown
        return raw[None].astype(np.float32) / 255.0

    viewer = CamViewer(model, preprocess=preprocess)
    viewer.show(raw)
    assert seen[0].dtype == np.uint8 and seen[0].shape == (1, 16, 16, 3)
    np.testing.assert_array_equal(seen[0][0], raw)
    np.testing.assert_allclose(kernel.calls[0]["images"], raw[None] / 255.0)
    image, _, _ = panels(viewer.panels())
    np.testing.assert_array_equal(image[..., :3], raw)


def test_float_images_in_0_255_are_shown_as_pixels(model, kernel, wire):
    image = np.random.default_rng(4).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    viewer = CamViewer(model)
    viewer.show(image)
    np.testing.assert_array_equal(panels(viewer.panels())[0][..., :3], np.rint(image))


def test_layer_controls_list_nested_spatial_layers_with_sizes(kernel, wire):
    keras.utils.set_random_seed(2)
    inner_in = keras.Input((12, 12, 3))
    y = keras.layers.Conv2D(3, 3, activation="relu", name="stem")(inner_in)
    y = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="deep")(y)
    backbone = keras.Model(inner_in, y, name="backbone")
    outer_in = keras.Input((12, 12, 3))
    z = keras.layers.GlobalAveragePooling2D()(backbone(outer_in))
    nested = keras.Model(outer_in, keras.layers.Dense(3)(z), name="outer")

    viewer = CamViewer(nested)
    options = viewer.parts.controls["layer"].options
    assert [value for _, value in options] == ["backbone/stem", "backbone/deep"]
    assert options[0][0] == "backbone/stem · 10×10" and options[1][0] == "backbone/deep · 4×4"
    viewer.show(np.random.default_rng(5).random((12, 12, 3)))
    assert viewer.settings.layer == "backbone/deep" and viewer.parts.controls["depth"].value == 1
    viewer.parts.controls["depth"].value = 0  # scrubbing depth picks the layer
    assert viewer.parts.controls["layer"].value == "backbone/stem"
    assert kernel.calls[-1]["layer"] == "backbone/stem"
    assert viewer.current_map.shape == (12, 12)


def test_layer_menu_offers_each_call_of_a_backbone_called_twice(kernel, wire):
    from tests.kernel.helpers import backbone_twice

    viewer = CamViewer(backbone_twice())
    options = viewer.parts.controls["layer"].options
    assert [value for _, value in options] == ["half", "backbone/conv:0", "backbone/conv:1"]
    assert {label for label, _ in options} >= {"backbone/conv:0 · 2×2", "backbone/conv:1 · 6×6"}
    viewer.show(np.random.default_rng(5).random((8, 8, 3)))
    assert viewer.parts.controls["layer"].value == viewer.settings.layer == "backbone/conv:1"
    viewer.parts.controls["layer"].value = "backbone/conv:0"
    assert kernel.calls[-1]["layer"] == "backbone/conv:0" and viewer.error is None
    assert viewer.current_map.shape == (8, 8)


def test_method_and_guided_controls(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images[0])
    # the registry's methods that apply to this CNN: all but attention rollout
    assert list(viewer.parts.controls["method"].options) == \
        [name for name in kernel.method_names() if name != "attention_rollout"]
    viewer.parts.controls["method"].value = "saliency"
    assert viewer.parts.controls["layer"].disabled and viewer.parts.controls["depth"].disabled
    assert "layer" not in kernel.calls[-1] and kernel.calls[-1]["method"] == "saliency"
    viewer.parts.controls["guided"].value = True
    assert kernel.calls[-1]["guided"] is True
    viewer.parts.controls["method"].value = "guided_backprop"
    assert viewer.parts.controls["guided"].disabled and viewer.parts.controls["guided"].value
    viewer.parts.controls["method"].value = "gradcam"
    assert not viewer.parts.controls["layer"].disabled and not viewer.parts.controls["guided"].disabled
    assert {value for _, value in viewer.parts.controls["colormap"].options} >= {
        "auto",
        "jet",
        "viridis",
        "inferno",
        "turbo",
        "gray",
    }


@pytest.mark.parametrize(
    "names",
    [
        ["disc", "square", "cross", "ring", "bar"],
        {0: "disc", 1: "square", 2: "cross", 3: "ring", 4: "bar"},
        lambda preds, top=5: [
            [
                ("id", ["disc", "square", "cross", "ring", "bar"][int(i)], float(p[i]))
                for i in np.argsort(-p)[:top]
            ]
            for p in preds
        ],
    ],
    ids=["list", "mapping", "decoder"],
)
def test_class_names_label_and_a_clickable_top5(model, images, kernel, wire, names):
    labels = ["disc", "square", "cross", "ring", "bar"]
    viewer = CamViewer(model, class_names=names)
    viewer.show(images[0])
    predictions = model.predict(images[:1], verbose=0)[0]
    order = np.argsort(-predictions)
    assert labels[order[0]] in viewer.parts.class_label.value and "score" in viewer.parts.class_label.value
    assert [b.description.split()[0] for b in viewer.parts.top5_buttons] == [labels[i] for i in order]
    assert viewer.parts.top5_buttons[0].button_style == "info"
    viewer.parts.top5_buttons[2].click()
    assert viewer.settings.target == order[2]
    assert kernel.calls[-1]["target"] == order[2] and kernel.calls[-1]["activations"] is not None
    assert labels[order[2]] in viewer.parts.class_label.value
    viewer.target = int(order[4])  # the least likely class: it takes the last button
    assert viewer.parts.top5_buttons[4].description.startswith(labels[order[4]])
    assert viewer.parts.top5_buttons[4].button_style == "info"


def test_a_batch_gets_an_image_slider(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images)
    slider = viewer.parts.controls["image"]
    assert slider.max == 2 and slider.layout.display != "none"
    slider.value = 2
    np.testing.assert_allclose(viewer.current_map, expected_map(model, images[2]), atol=1e-5)
    np.testing.assert_array_equal(panels(viewer.panels())[0][..., :3], render.to_rgb8(images[2]))
    viewer.show(images[1])
    assert viewer.parts.controls["image"].layout.display == "none"


def test_siamese_model_input_selector_and_callable_target(kernel, wire):
    keras.utils.set_random_seed(3)
    enc_in = keras.Input((12, 12, 3))
    f = keras.layers.Conv2D(4, 3, activation="relu", name="feat")(enc_in)
    encoder = keras.Model(enc_in, keras.layers.GlobalAveragePooling2D()(f), name="encoder")
    left, right = keras.Input((12, 12, 3), name="left"), keras.Input((12, 12, 3), name="right")
    similarity = keras.layers.Dot(axes=1, normalize=True)([encoder(left), encoder(right)])
    siamese = keras.Model([left, right], similarity, name="siamese")
    rng = np.random.default_rng(6)
    a, b = rng.random((2, 12, 12, 3)), rng.random((2, 12, 12, 3))

    def similarity_score(outputs):
        return outputs[:, 0]

    viewer = CamViewer(siamese, target=similarity_score)
    viewer.show([a, b])
    assert viewer.error is None, viewer.error
    selector = viewer.parts.controls["input"]
    assert selector.layout.display != "none" and [v for _, v in selector.options] == [0, 1]
    assert viewer.parts.controls["target"].disabled and "similarity_score" in viewer.parts.class_label.value
    first = viewer.current_map.copy()
    before = len(kernel.calls)
    selector.value = 1
    viewer.flush()
    # the panels explain input 1; the pair's other row (issue 21) explains input 0
    asked = [(c["input_index"], c["target"] is similarity_score) for c in kernel.calls[before:]]
    assert asked[0] == (1, True) and (0, True) in asked[1:]
    assert viewer.error is None, viewer.error
    np.testing.assert_array_equal(panels(viewer.panels())[0][..., :3], render.to_rgb8(b[0]))
    assert not np.allclose(first, viewer.current_map)
    viewer.parts.controls["image"].value = 1
    assert viewer.settings.target is similarity_score and viewer.error is None


# ------------------------------------------------------------------ canvases in the page
def test_a_view_that_connects_later_is_redrawn_without_new_image_data(
    model, images, kernel, wire
):
    viewer = CamViewer(model, opacity=0.7)
    viewer.show(images[0])
    expected = dict(zip(("image", "heatmap", "overlay"), panels(viewer.panels())))
    sent_bytes = viewer.parts.transport.bytes_sent
    viewer.parts.transport._on_client_ready()  # what each canvas does when a new page shows it
    redraw = wire.messages[-1]
    assert redraw.redraw and redraw.nbytes == 0 and viewer.parts.transport.bytes_sent == sent_bytes
    assert redraw.opacity == 0.7
    for name, png in viewer.parts.transport.shown().items():
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")), expected[name])
    assert len(kernel.calls) == 1


def test_canvas_size_is_the_image_and_css_scales_it(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images[0])
    for canvas in viewer.parts.canvases.values():
        assert (canvas.width, canvas.height) == (16, 16)
    for box in viewer.parts.layout.boxes.values():
        assert box.layout.max_width == "256px"  # 16 CSS pixels per image pixel at most
        assert "cam-widgets-pixelated" in box._dom_classes
    assert "image-rendering: pixelated" in viewer.widget.children[0].value


def test_constructor_rejects_unknown_method_and_colormap(model, kernel):
    with pytest.raises(ValueError, match="Unknown method 'gradkam'"):
        CamViewer(model, method="gradkam")
    with pytest.raises(ValueError, match="colormap"):
        CamViewer(model, colormap="rainbowz")


def test_kernel_namespace_is_what_the_viewer_uses():
    real = _REAL_KERNEL()
    assert isinstance(real, SimpleNamespace)
    assert {"explain", "list_layers", "main_layers", "method_names", "get_method"} <= set(
        vars(real))


# ------------------------------------------------------------------ pre-tracing
def test_after_a_map_the_next_likely_actions_are_computed_in_the_background(
    model, images, kernel, wire
):
    async def scenario() -> tuple[CamViewer, int, list]:
        viewer = CamViewer(model)  # prefetch=None: on, as there is a running loop
        viewer.show(images[0])
        first_paint = len(wire.messages)  # the first picture came before any pre-tracing
        while viewer.parts.prefetcher.busy:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)  # the results are stored through the loop
        done = [s for s, _ in viewer.parts.prefetcher.done]
        made = len(kernel.calls)
        predictions = model.predict(images[:1], verbose=0)[0]
        runner_up = int(np.argsort(-predictions)[1])
        viewer.target = runner_up  # the runner-up class: already computed
        viewer.target = int(np.argmax(predictions))
        viewer.guided = True  # the guided toggle: already computed
        viewer.guided = False
        viewer.layer = "pool"  # the neighbouring layer in the menu: already computed
        await viewer.wait()
        assert len(kernel.calls) == made, [(c["target"], c.get("layer"), c["guided"], c.get("activations") is None) for c in kernel.calls]
        return viewer, first_paint, done

    viewer, first_paint, done = asyncio.run(scenario())
    assert first_paint == 1
    likely = [(False, False, "conv_b"), (True, True, "conv_b"), (True, False, "pool")]
    if quick_first_call():  # the first map was uncompiled: its own kind compiles first
        likely.insert(0, (True, False, "conv_b"))
    assert [(s.target == viewer.target, s.guided, s.layer) for s in done] == likely
    np.testing.assert_allclose(
        viewer.current_map, expected_map(model, images[0], layer="pool"), atol=1e-5
    )


# ------------------------------------------------------------------ settings as traits
def test_every_setting_from_code_equals_the_control_path(model, images, kernel, wire):
    """Setting a trait moves its control and draws what moving the control draws."""
    changes = [("method", "layercam", "layercam"), ("layer", "conv_a", "conv_a"),
               ("target", 3, "class 3"), ("guided", True, True),
               ("opacity", 0.8, 0.8), ("colormap", "viridis", "viridis"),
               ("scale", "shared", "shared"), ("image_index", 2, 2)]
    control_of = {"image_index": "image"}
    by_code, by_control = CamViewer(model, prefetch=False), CamViewer(model, prefetch=False)
    for viewer in (by_code, by_control):
        viewer.parts.follow.value = False
        viewer.show(images)
    seen = []
    by_code.observe(lambda change: seen.append(change["name"]), names=[c[0] for c in changes])
    for setting, value, shown in changes:
        control = control_of.get(setting, setting)
        setattr(by_code, setting, value)
        by_control.parts.controls[control].value = shown
        assert by_code.parts.controls[control].value == shown  # the control follows the trait
        assert getattr(by_control, setting) == value  # the trait follows the control
        assert by_code.settings == by_control.settings
        np.testing.assert_array_equal(by_code.panels(), by_control.panels())
        np.testing.assert_array_equal(by_code.snapshot(), by_control.snapshot())
    assert seen == [c[0] for c in changes]  # observe() sees each change once
    # widgets.link works both ways on a trait
    slider = ipywidgets.FloatSlider(0.1, min=0, max=1)
    ipywidgets.link((slider, "value"), (by_code, "opacity"))
    assert by_code.opacity == 0.1 and by_code.parts.controls["opacity"].value == 0.1
    by_code.opacity = 0.35
    assert slider.value == 0.35


def test_bad_settings_are_refused_with_what_would_be_right(model, kernel, wire):
    viewer = CamViewer(model)
    with pytest.raises(ValueError, match="Unknown method 'gradkam'. Did you mean 'gradcam'"):
        viewer.method = "gradkam"
    with pytest.raises(ValueError, match=r"opacity must be in \[0, 1\], got 1.5"):
        viewer.opacity = 1.5
    with pytest.raises(ValueError, match="target must be None, a class index >= 0"):
        viewer.target = -2
    with pytest.raises(ValueError, match=r"expected any of \['map', 'shared'\]"):
        viewer.scale = "global"


def test_class_picker_searches_names_and_indices(model, images, kernel, wire):
    viewer = CamViewer(model, class_names=["disc", "square", "cross", "ring", "bar"])
    viewer.show(images[0])
    picker = viewer.parts.controls["target"]
    assert picker.options == ("disc (0)", "square (1)", "cross (2)", "ring (3)", "bar (4)")
    for typed, expected in (("ring (3)", 3), ("1", 1), ("cross", 2), ("no such class", 2)):
        picker.value = typed
        assert viewer.target == expected
    assert picker.value == "no such class"  # what was typed stays; the class does not move
    assert "explaining <b>cross</b> (class 2)" in viewer.parts.class_label.value


def test_imagenet_names_offline_fail_once_quietly(model, images, kernel, wire, capsys, monkeypatch):
    import keras.applications.imagenet_utils as imagenet_utils

    calls = []

    def offline(preds, top=5):
        calls.append(top)
        print("Downloading data from https://storage.googleapis.com/.../imagenet_class_index.json")
        raise Exception("URL fetch failure on https://storage.googleapis.com/.../"
                        "imagenet_class_index.json: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(imagenet_utils, "decode_predictions", offline)
    viewer = CamViewer(model, class_names="imagenet")
    statuses = []
    viewer.parts.status.observe(lambda change: statuses.append(change["new"]), names="value")
    viewer.show(images)
    for index in (1, 2, 0):
        viewer.image_index = index
    assert len(calls) == 1  # tried once
    said = [s for s in statuses if "ImageNet class names not loaded: no network" in s]
    assert len(said) == 1  # said once, in one status line, with what to pass instead
    assert "pass class_names= a list of the 1000 names" in said[0]
    assert "class 0" in viewer.parts.controls["target"].options[0]
    captured = capsys.readouterr()
    assert "Downloading" not in captured.out + captured.err
    with pytest.raises(ValueError, match='class_names must be a list, a dict, a callable or "imagenet"'):
        CamViewer(model, class_names="imagenett")


@pytest.mark.parametrize("method", ["hirescam", "xgradcam", "scorecam", "eigencam",
                                    "integrated_gradients", "occlusion"])
def test_registered_methods_reach_the_dropdown_and_draw(model, images, kernel, wire, method):
    viewer = CamViewer(model)
    viewer.show(images[0])
    assert method in viewer.parts.controls["method"].options  # from the registry, no widget change
    viewer.parts.controls["method"].value = method
    assert kernel.calls[-1]["method"] == method
    assert viewer.current_map.shape == (16, 16)
    assert np.isfinite(viewer.current_map).all()
    assert viewer.panels().shape == (16, 48, 4)


def test_method_options_come_from_the_methods_declaration(model, images, kernel, wire):
    viewer = CamViewer(model, prefetch=False)
    viewer.show(images[0])
    assert viewer.parts.layout.widget is viewer.widget and not viewer.parts.method_options.controls
    viewer.method = "smoothgrad"
    controls = viewer.parts.method_options.controls
    assert list(controls) == ["n_samples", "noise_level", "seed", "chunk_size"]
    assert controls["n_samples"].value == 25  # its limits in the tooltip, not clamped by it
    assert controls["n_samples"].tooltip == "noisy copies averaged (int in [1, 10000])"
    assert "noise std" in controls["noise_level"].tooltip
    controls["n_samples"].value = 3  # the control sets the trait, and the kernel gets it
    assert viewer.options == {"n_samples": 3} and kernel.calls[-1]["n_samples"] == 3
    viewer.options = {"n_samples": 3, "seed": 7}  # and code moves the control
    assert controls["seed"].value == 7 and kernel.calls[-1]["seed"] == 7
    expected = _REAL_KERNEL().explain(model, images[:1], method="smoothgrad", n_samples=3,
                                      seed=7).maps[0]
    np.testing.assert_allclose(viewer.current_map, expected, atol=1e-5)
    with pytest.raises(ValueError, match="has no option 'n_sample'. Did you mean 'n_samples'"):
        viewer.options = {"n_sample": 3}
    viewer.method = "gradcam"  # another method: its own (no) options
    assert viewer.options == {} and viewer.parts.method_options.box.children == ()
    assert viewer.settings.options == ()
    np.testing.assert_allclose(viewer.current_map, expected_map(model, images[0]), atol=1e-5)


def test_the_transport_forwards_mouse_events_on_the_image(model, images, kernel, wire):
    viewer = CamViewer(model)
    seen = []
    viewer.parts.transport.on_mouse("down", lambda x, y: seen.append((x, y)))
    with pytest.raises(ValueError, match="event must be one of"):
        viewer.parts.transport.on_mouse("click", print)
    viewer.parts.transport.mouse("down", 3.0, 4.5)
    viewer.parts.transport.mouse("up", 1.0, 1.0)  # nobody listens: nothing happens
    assert seen == [(3.0, 4.5)]


def test_a_replaced_source_image_stays_open_for_the_browsers_queued_draws(monkeypatch):
    """The browser decodes each image before drawing it, so a draw command can still be
    queued when the next send replaces its image: closing that image at once made the page
    throw "widget model not found". It is closed once `RETIRE_SECONDS` have passed."""
    import cam_widgets.viewer.transport as transport_module
    clock = [100.0]
    monkeypatch.setattr(transport_module.time, "monotonic", lambda: clock[0])
    transport = transport_module.CanvasTransport()
    png = render.encode_png(np.zeros((2, 2, 4), np.uint8))
    transport.send(png, png, 0.5)
    first = dict(transport._sources)
    transport.send(png, None, 0.5)  # a new image; the first one's draw may still be queued
    assert first["image"].comm is not None and first["heatmap"].comm is not None
    clock[0] += transport_module.RETIRE_SECONDS + 1
    transport.send(None, png, 0.5)  # the next send closes what retired long enough ago
    assert first["image"].comm is None and first["heatmap"].comm is not None  # still shown
    assert transport._sources["image"].comm is not None


def test_an_option_that_may_be_none_is_a_text_box(model, images, kernel, wire):
    viewer = CamViewer(model, prefetch=False)
    viewer.show(images[0])
    viewer.method = "scorecam"
    every_channel = viewer.current_map.copy()
    box = viewer.parts.method_options.controls["max_channels"]  # default None: all channels
    assert box.value == "" and box.placeholder == "none"
    box.value = "3"
    assert viewer.options == {"max_channels": 3} and kernel.calls[-1]["max_channels"] == 3
    box.value = " "  # empty again: back to the default, all channels (from the cache)
    assert viewer.options == {}
    np.testing.assert_array_equal(viewer.current_map, every_channel)
    viewer.options = {"max_channels": 5}  # code moves the box
    assert box.value == "5"


def test_images_and_classes_follow_the_kernels_rules(kernel, wire):
    """The viewer reads images and counts classes as `explain` does (one home each in the
    kernel): a (B, H, W) array is a batch for a 1-channel model, and a binary sigmoid
    head has the two classes 0 and 1."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    binary = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    viewer = CamViewer(binary, prefetch=False)
    grey = np.random.default_rng(1).random((3, 8, 8)).astype(np.float32)
    viewer.show(grey)
    assert viewer.parts.controls["image"].max == 2  # three images, not one (8, 8, 8) picture
    assert len(viewer.parts.controls["target"].options) == 2  # classes 0 and 1 in the picker
    assert viewer.target == 1  # p = 0.63: the positive class is the predicted one
    p = float(binary.predict(grey[:1, ..., None], verbose=0)[0, 0])
    assert viewer.parts.class_label.value.endswith(f" · p {p:.3g}")  # the class's p
    viewer.target = 0  # the negative class: minus the logit
    expected = _REAL_KERNEL().explain(binary, grey[:1, ..., None], target=0).maps[0]
    np.testing.assert_allclose(viewer.current_map, expected, atol=1e-5)
    assert viewer.parts.class_label.value.endswith(f" · p {1 - p:.3g}")  # 1 - p


# ------------------------------------------------------------------ honest maps (issue 20)
def test_the_method_menu_lists_only_methods_that_apply_to_the_model(model, images, kernel,
                                                                    wire):
    viewer = CamViewer(model, prefetch=False)
    viewer.show(images[0])
    menu = viewer.parts.controls["method"]
    assert "attention_rollout" not in menu.options  # a CNN has no attention to roll out
    assert {"gradcam", "hirescam", "scorecam", "lrp", "occlusion"} <= set(menu.options)
    viewer.method = "attention_rollout"  # set from code all the same: listed, and refused
    assert menu.value == "attention_rollout"
    assert "has no keras.layers.MultiHeadAttention" in viewer.error
    assert viewer.parts.status.value == \
        "could not explain this setting (see below); change a control to retry"
    assert viewer.parts.controls["layer"].value == "conv_b"  # the menu keeps its layer
    menu.value = "gradcam"
    assert viewer.error is None


def test_grad_cam_hires_cam_and_xgrad_cam_say_they_are_the_same_map_here(model, images,
                                                                         kernel, wire):
    """conv_b feeds a global average pooling: the gradient is the same at every location,
    so the three weightings give one map (and the caption says so)."""
    viewer = CamViewer(model, prefetch=False)
    viewer.show(images[0])
    viewer.method = "hirescam"
    assert viewer.parts.caption.value.endswith("same map as gradcam for this model</small>")
    viewer.method = "xgradcam"
    assert viewer.parts.caption.value.endswith(
        "same map as gradcam, hirescam for this model</small>")
    viewer.layer = "conv_a"  # before the pooling, the maps differ
    assert "same map" not in viewer.parts.caption.value


def test_a_model_with_attention_offers_rollout_and_not_lrp(kernel, wire):
    from tests.kernel.helpers import binary_sigmoid_model

    images = np.random.default_rng(3).random((4, 8, 8, 3)).astype(np.float32)
    viewer = CamViewer(binary_sigmoid_model(images), prefetch=False)
    menu = viewer.parts.controls["method"].options
    assert "attention_rollout" in menu and "gradcam" in menu
    assert "lrp" not in menu  # LRP has no rule for attention: it refuses this model


def test_a_zero_score_cam_map_says_why_in_the_status_line(images, kernel, wire):
    """Every weight zero: the masked inputs all score like the baseline, every channel
    weight is 0, and the map is 0 everywhere."""
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    flat = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    flat.set_weights([np.zeros_like(w) for w in flat.get_weights()])
    viewer = CamViewer(flat, method="scorecam", prefetch=False)
    viewer.show(images[0])
    assert viewer.current_map.max() == 0.0
    status = html.unescape(viewer.parts.status.value)
    assert " · the map is 0 everywhere: at this layer no location's weighted sum" in status
    assert status.endswith('; try another class, another layer, max_channels (fewer '
                           'channels: those of largest variance), score="logit" (a '
                           "saturated softmax hides the masks' differences)")
