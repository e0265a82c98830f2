"""CamViewer on token and segmentation models: the layer menu's token grids, a class
explained over its predicted region (`SegmentationTarget`), and a rectangle drawn on the
image panel (through the transport's mouse events) explaining that region only."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cam_widgets.viewer import CamViewer
from tests.kernel.vit_models import TinyViT
from tests.test_viewer import _REAL_KERNEL, kernel, wire  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def vit() -> keras.Model:
    return TinyViT("token").model


@pytest.fixture(scope="module")
def vit_images() -> np.ndarray:
    return np.random.default_rng(3).random((1, 16, 16, 3)).astype(np.float32)


def test_token_layers_show_their_patch_grid_in_the_menu(vit, vit_images, kernel, wire):
    viewer = CamViewer(vit)
    labels = [label for label, _ in viewer.controls["layer"].options]
    assert labels == ["block0_add_1 · 4×4 tokens", "block0_add_2 · 4×4 tokens",
                      "block1_ln_1 · 4×4 tokens"]
    viewer.show(vit_images[0])  # the kernel's default layer: the last entry
    assert viewer.layer == "block1_ln_1" and not viewer._wiring.all_layers_box.value
    viewer.layer = "block0_add_2"
    viewer.flush()
    assert "layer block0_add_2 (4×4 tokens)" in viewer.status.value
    assert "depth 2 of 3: block0_add_2 · 4×4 tokens" in viewer._wiring.depth_label.value
    expected = _REAL_KERNEL().explain(vit, vit_images, layer="block0_add_2").maps[0]
    np.testing.assert_allclose(viewer.current_map, expected, atol=1e-5)
