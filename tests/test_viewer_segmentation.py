"""CamViewer on token and segmentation models: the layer menu's token grids, a class
explained over its predicted region (`SegmentationTarget`), and a rectangle drawn on the
image panel (through the transport's mouse events) explaining that region only."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cam_widgets.kernel.segmentation import SegmentationTarget
from cam_widgets.viewer import CamViewer, compose
from cam_widgets.viewer.compose import format_value
from cam_widgets.viewer.facade import SettingError
from cam_widgets.viewer.regions import from_drag, pixel_shares, region_mask
from tests.kernel.vit_models import TinyViT, tiny_unet
from tests.viewer_helpers import _REAL_KERNEL, images, kernel, model, wire  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def vit() -> keras.Model:
    return TinyViT("token").model


@pytest.fixture(scope="module")
def vit_images() -> np.ndarray:
    return np.random.default_rng(3).random((1, 16, 16, 3)).astype(np.float32)


def test_token_layers_show_their_patch_grid_in_the_menu(vit, vit_images, kernel, wire):
    viewer = CamViewer(vit)
    labels = [label for label, _ in viewer.parts.controls["layer"].options]
    assert labels == ["block0_add_1 · 4×4 tokens", "block0_add_2 · 4×4 tokens",
                      "block1_ln_1 · 4×4 tokens"]
    viewer.show(vit_images[0])  # the kernel's default layer: the last entry
    assert viewer.layer == "block1_ln_1" and not viewer.parts.all_layers.value
    viewer.layer = "block0_add_2"
    viewer.flush()
    assert "layer block0_add_2 (4×4 tokens)" in viewer.parts.status.value
    assert "depth 2 of 3: block0_add_2 · 4×4 tokens" in viewer.parts.depth_label.value
    expected = _REAL_KERNEL().explain(vit, vit_images, layer="block0_add_2").maps[0]
    np.testing.assert_allclose(viewer.current_map, expected, atol=1e-5)


# ------------------------------------------------------------------ segmentation
NAMES = ["sky", "disc", "bar"]


@pytest.fixture(scope="module")
def unet() -> keras.Model:
    return tiny_unet()


@pytest.fixture(scope="module")
def seg_images() -> np.ndarray:
    return vit_images_of(2, seed=1)


def vit_images_of(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n, 16, 16, 3)).astype(np.float32)


def kernel_map(model, image, target) -> np.ndarray:
    return _REAL_KERNEL().explain(model, image[None], target=target).maps[0]


def shares_of(model, image) -> np.ndarray:
    """Each class's share of the pixels where it is the argmax (computed here, not by
    the viewer's helper)."""
    best = np.asarray(model(image[None]))[0].argmax(axis=-1)
    return np.array([(best == k).mean() for k in range(3)])


def test_a_class_is_explained_over_its_predicted_region(unet, seg_images, kernel, wire):
    viewer = CamViewer(unet, class_names=NAMES)
    viewer.show(seg_images)
    shares = shares_of(unet, seg_images[0])
    top = int(np.argmax(shares))
    # the class on the most pixels, over the pixels predicted as it, at the bottleneck
    assert viewer.error is None and viewer.target == top and viewer.layer == "mid"
    assert isinstance(kernel.calls[-1]["target"], SegmentationTarget)
    np.testing.assert_allclose(viewer.current_map,
                               kernel_map(unet, seg_images[0], SegmentationTarget(top)),
                               atol=1e-5)
    assert "over its predicted region" in viewer.parts.status.value
    assert f"pixel share {format_value(shares[top])}" in viewer.parts.class_label.value
    # the top-5 buttons rank the classes by predicted pixel share
    order = np.argsort(-shares, kind="stable")
    assert [b.description for b in viewer.parts.top5_buttons[:3]] == [
        f"{NAMES[k]} {format_value(shares[k])}" for k in order]
    other = int(order[1])
    viewer.parts.controls["target"].value = f"{NAMES[other]} ({other})"  # the class picker
    viewer.flush()
    assert viewer.target == other and viewer.error is None
    np.testing.assert_allclose(viewer.current_map,
                               kernel_map(unet, seg_images[0], SegmentationTarget(other)),
                               atol=1e-5)


def test_a_dragged_rectangle_explains_that_region_only(unet, seg_images, kernel, wire):
    viewer = CamViewer(unet, class_names=NAMES, target=2)
    viewer.show(seg_images)
    predicted = viewer.current_map.copy()
    transport = viewer.parts.transport
    transport.mouse("down", 9.6, 11.2)  # dragged up and to the left
    transport.mouse("move", 5.0, 6.0)  # previewed on the overlay while the mouse moves
    assert transport.previews == [compose.outline_rects((5, 6, 10, 12), (16, 16))]
    transport.mouse("up", 2.4, 3.0)
    viewer.flush()
    assert viewer.region == (2, 3, 10, 12)  # every pixel the drag touched
    # shown at the output's size (16 x 16): the mask is the rectangle itself
    mask = np.zeros((16, 16), np.float32)
    mask[3:12, 2:10] = 1
    sent = kernel.calls[-1]["target"]
    assert sent.class_index == 2
    np.testing.assert_array_equal(sent.mask, mask)
    drawn = viewer.current_map.copy()
    np.testing.assert_allclose(
        drawn, kernel_map(unet, seg_images[0], SegmentationTarget(2, mask=mask)), atol=1e-5)
    assert not np.allclose(drawn, predicted, atol=1e-3)  # the region changed the map
    assert "over region x 2-10, y 3-12" in viewer.parts.status.value
    # the region from code: the same map as the drag (a fresh viewer, no shared cache)
    coded = CamViewer(unet, class_names=NAMES, target=2)
    coded.show(seg_images)
    coded.region = (2, 3, 10, 12)
    coded.flush()
    np.testing.assert_array_equal(coded.current_map, drawn)
    # a click without a drag returns to the predicted region (cached: no kernel call)
    calls = len(kernel.calls)
    transport.mouse("down", 4.0, 4.0)
    transport.mouse("move", 4.1, 4.0)  # too short for a rectangle: the shown outline
    assert transport.previews[-1] == compose.outline_rects((2, 3, 10, 12), (16, 16))
    transport.mouse("up", 4.1, 4.0)
    viewer.flush()
    assert viewer.region is None and len(kernel.calls) == calls
    np.testing.assert_array_equal(viewer.current_map, predicted)
    # so does the button; another image forgets the region
    transport.mouse("down", 1.0, 1.0)  # a click with no region: the preview is taken away
    transport.mouse("up", 1.0, 1.0)
    assert transport.previews[-1] == []
    # a drag that leaves the image ends where the mouse was last seen on it
    transport.mouse("down", 1.0, 1.0)
    transport.mouse("move", 6.5, 7.5)
    transport.mouse("out", 20.0, 7.5)
    assert viewer.region == (1, 1, 7, 8)
    viewer.parts.drawing.clear_button.click()
    assert viewer.region is None
    viewer.region = (0, 0, 5, 5)
    viewer.image_index = 1
    viewer.flush()
    assert viewer.region is None


def test_the_region_is_outlined_on_the_overlay_and_in_the_snapshot(unet, seg_images, kernel,
                                                                   wire):
    viewer = CamViewer(unet, target=1)
    viewer.show(seg_images[0])
    plain = viewer.panels().copy()
    viewer.region = (2, 3, 10, 12)
    viewer.flush()
    drawn = viewer.panels()
    image, heat = drawn[:, :16], drawn[:, 16:32]  # the image and heatmap panels
    expected = compose.blend_overlay(image, heat, viewer.opacity)
    black, white = (0, 0, 0, 255), (255, 255, 255, 255)
    # a one-pixel dark ring on the rectangle's edge, a light one inside it
    for ring, colour in ((0, black), (1, white)):
        x0, y0, x1, y1 = 2 + ring, 3 + ring, 10 - ring, 12 - ring
        expected[y0, x0:x1] = expected[y1 - 1, x0:x1] = colour
        expected[y0:y1, x0] = expected[y0:y1, x1 - 1] = colour
    np.testing.assert_array_equal(drawn[:, 32:], expected)
    assert (drawn[:, 32:] != compose.blend_overlay(image, heat, viewer.opacity)
            ).any(axis=-1).sum() == 30 + 22  # the rings of an 8 x 9 and a 6 x 7 rectangle
    np.testing.assert_array_equal(drawn[:, :16], plain[:, :16])  # the image: untouched
    # the browser fills the same rectangles on the overlay canvas, after the blend
    assert viewer.parts.transport.log[-1].outline == compose.outline_rects((2, 3, 10, 12), (16, 16))
    assert viewer.parts.transport.log[-1].outline[0] == (2, 3, 8, 1, black)
    # the snapshot (and the saved PNG) carry the outlined overlay, enlarged 12x
    strip = np.repeat(np.repeat(drawn, 12, axis=0), 12, axis=1)
    snapshot = viewer.snapshot()
    tops = [top for top in range(snapshot.shape[0] - strip.shape[0] + 1)
            if np.array_equal(snapshot[top:top + strip.shape[0]], strip)]
    assert len(tops) == 1
    viewer.opacity = 0.8  # a repaint keeps the outline
    viewer.flush()
    assert viewer.parts.transport.log[-1].outline == compose.outline_rects((2, 3, 10, 12), (16, 16))
    viewer.region = None
    viewer.flush()
    image, heat = viewer.panels()[:, :16], viewer.panels()[:, 16:32]
    np.testing.assert_array_equal(viewer.panels()[:, 32:], compose.blend_overlay(
        image, heat, 0.8))
    assert viewer.parts.transport.log[-1].outline == []


def test_a_region_on_a_smaller_display_maps_to_the_output_resolution(unet, seg_images, kernel,
                                                                     wire):
    viewer = CamViewer(unet, target=0, max_display=8)  # shown 8 x 8, output 16 x 16
    viewer.show(seg_images[0])
    viewer.parts.transport.mouse("down", 1.5, 2.0)
    viewer.parts.transport.mouse("up", 3.2, 5.5)
    viewer.flush()
    assert viewer.region == (1, 2, 4, 6) and viewer.error is None
    # output pixel j's centre is at (j + 0.5) / 2 shown pixels: columns 2..7, rows 4..11
    mask = np.zeros((16, 16), np.float32)
    mask[4:12, 2:8] = 1
    np.testing.assert_array_equal(kernel.calls[-1]["target"].mask, mask)


def test_regions_on_a_classifier_are_refused_and_drags_ignored(model, images, kernel, wire):
    viewer = CamViewer(model)
    viewer.show(images[0])
    with pytest.raises(SettingError, match="region applies to segmentation models"):
        viewer.region = (0, 0, 4, 4)
    calls = len(kernel.calls)
    viewer.parts.transport.mouse("down", 1.0, 1.0)
    viewer.parts.transport.mouse("up", 9.0, 9.0)
    viewer.flush()
    assert viewer.region is None and len(kernel.calls) == calls
    assert viewer.parts.drawing.box.layout.display == "none"


@pytest.mark.parametrize("value", [(0, 0, 0, 4), (1, 2, 3), (-1, 0, 2, 2), (0, 0, 2.5, 3),
                                   "0,0,2,2"])
def test_bad_regions_say_what_a_region_is(unet, kernel, wire, value):
    viewer = CamViewer(unet)
    with pytest.raises(SettingError, match=r"region must be None or \(x0, y0, x1, y1\)"):
        viewer.region = value


def test_region_geometry():
    # a click (shorter than 2% of the longer side and than a pixel) is no region
    assert from_drag((3.0, 3.0), (3.5, 3.2), (16, 16)) is None
    assert from_drag((90.0, 10.0), (150.0, 500.0), (100, 120)) == (90, 10, 120, 100)
    # a region thinner than an output pixel keeps the pixel under its centre
    mask = region_mask((5, 0, 6, 1), (32, 32), (4, 4))
    assert mask.sum() == 1 and mask[0, 0] == 1
    assert np.allclose(pixel_shares(np.eye(3)[np.array([[0, 2], [2, 2]])]), [0.25, 0, 0.75])
    assert np.allclose(pixel_shares(np.array([[0.9, 0.2], [0.7, 0.1]])), [0.5])
