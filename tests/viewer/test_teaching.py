"""The viewer's teaching views on the shipped shapes model: the map at every depth (one
pass, click to select a layer, in the snapshot) and the sanity-check strip."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cam_widgets import CamViewer, explain
from cam_widgets.datasets import CLASS_NAMES, make_shapes, shapes_model
from cam_widgets.viewer import compose, strips
from cam_widgets.viewer.transport import RecordingTransport


class Recorded(CamViewer):
    transport_class = RecordingTransport


@pytest.fixture(scope="module")
def viewer():
    model, data = shapes_model(), make_shapes(2, seed=3)
    shown = Recorded(model, class_names=CLASS_NAMES)
    shown.show(data.images)
    return shown, model, data


def test_all_depths_is_one_pass_over_the_layer_menu_and_joins_the_snapshot(viewer):
    shown, model, data = viewer
    plain = shown.snapshot()
    shown.depths = True
    shown.flush()
    _, paths, maps = shown.parts.teaching.depths
    assert paths == ["conv1", "pool1", "conv2_relu", "pool2", "conv3_relu", "last_conv"]
    want = explain(model, data.images[:1], layer=paths, target=shown.target)
    np.testing.assert_allclose(maps, want.maps[0], atol=1e-5)
    assert len(shown.parts.teaching.depth_box.children) == 6
    assert shown.snapshot().shape[0] > plain.shape[0] + 112  # the strip is under the view
    shown.depths = False
    assert shown.snapshot().shape == plain.shape
    assert shown.parts.teaching.depth_box.children == ()


def test_clicking_a_depth_selects_its_layer(viewer):
    shown = viewer[0]
    shown.depths = True
    shown.flush()
    box = shown.parts.teaching.depth_box.children[2]
    box.children[1].click()
    shown.flush()
    assert shown.layer == "conv2_relu"
    shown.layer, shown.depths = "last_conv", False
    shown.flush()


def test_the_sanity_check_strip_follows_the_shown_class(viewer):
    shown, model, data = viewer
    shown.sanity_check()
    key, check = shown.parts.teaching.sanity
    assert check.layers[0] == "predictions" and check.maps.shape[:2] == (9, 1)
    assert len(shown.parts.teaching.sanity_box.children) == 9
    captions = shown.parts.teaching.sanity_box.children[1].children[1].value
    assert "+predictions" in captions and "rank corr" in captions
    shown.target = (shown.target + 1) % 4
    shown.flush()
    assert shown.parts.teaching.sanity is None  # stale: cleared, the button runs it again
    assert shown.parts.teaching.sanity_box.children == ()


def test_the_depth_strip_follows_colormap_and_opacity_without_a_kernel_call(viewer):
    shown = viewer[0]
    shown.depths = True
    shown.flush()
    teaching = shown.parts.teaching
    cells, runs = teaching.depth_box.children, teaching.scheduler.runs
    before = [cell.children[0].value for cell in cells]
    shown.opacity, shown.colormap = 0.9, "viridis"
    shown.flush()
    assert teaching.scheduler.runs == runs and teaching.depth_box.children == cells
    after = [cell.children[0].value for cell in cells]
    assert all(new != old for new, old in zip(after, before))
    _, paths, maps = teaching.depths
    image = strips.small_picture(shown.parts.teaching.session.shown_image, strips.PAGE_CELL)
    want = strips.small_overlay(image, maps[2], "viridis", 0.9, strips.PAGE_CELL)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(after[2]))), want)
    assert want.shape == (strips.PAGE_CELL, strips.PAGE_CELL, 4)
    shown.opacity, shown.colormap, shown.depths = 0.5, compose.AUTO, False
    shown.flush()


def test_all_depths_of_a_method_without_layer_says_why(viewer):
    shown = viewer[0]
    shown.method = "saliency"
    shown.depths = True
    shown.flush()
    assert "saliency reads no layer" in shown.parts.teaching.note.value
    shown.depths, shown.method = False, "gradcam"
    shown.flush()


def test_a_pair_shows_both_inputs_rows_for_the_same_score():
    import keras
    keras.utils.set_random_seed(3)
    enc_in = keras.Input((12, 12, 3))
    features = keras.layers.Conv2D(4, 3, activation="relu", name="feat")(enc_in)
    encoder = keras.Model(enc_in, keras.layers.GlobalAveragePooling2D()(features),
                          name="encoder")
    left, right = keras.Input((12, 12, 3), name="left"), keras.Input((12, 12, 3), name="right")
    similarity = keras.layers.Dot(axes=1, normalize=True)([encoder(left), encoder(right)])
    siamese = keras.Model([left, right], similarity, name="siamese")
    rng = np.random.default_rng(6)
    a, b = rng.random((1, 12, 12, 3)), rng.random((1, 12, 12, 3))

    def score(outputs):
        return outputs[:, 0]

    shown = Recorded(siamese, target=score)
    shown.show([a, b])
    assert shown.error is None, shown.error
    rows = shown.parts.other_inputs.rows
    assert list(rows) == [1]  # the panels show input 0, the row input 1
    want = explain(siamese, [a.astype(np.float32), b.astype(np.float32)], target=score,
                   input_index=1)
    image, heat, overlay, colours = rows[1]
    assert image.shape[:2] == heat.shape[:2] == (12, 12)
    np.testing.assert_array_equal(image[..., :3], (b[0] * 255).round().astype(np.uint8))
    np.testing.assert_allclose(colours.high, want.maps[0].max(), atol=1e-5)
    assert "input 1: right" in shown.parts.other_inputs.box.children[0].value
    drawn = shown.parts.other_inputs.box.children[1].children[2]  # the overlay picture
    before, runs = drawn.value, shown.parts.other_inputs.scheduler.runs
    shown.opacity = 0.9  # the row's overlay follows the opacity without a kernel call
    assert drawn.value != before and shown.parts.other_inputs.scheduler.runs == runs
    _, _, repainted, _ = shown.parts.other_inputs.rows[1]
    np.testing.assert_array_equal(
        repainted, compose.blend_overlay(image, heat, 0.9))
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(drawn.value))), repainted)
    single = shown.snapshot()
    shown.input_index = 1
    shown.flush()
    assert list(shown.parts.other_inputs.rows) == [0]
    assert single.shape[0] > 2 * 192  # both rows are in the snapshot
