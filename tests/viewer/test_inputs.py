"""What `CamViewer(...)` takes: a model or its saved path, a layer and a method checked at
construction (with the close matches), and a one-line hint as a cell's bare value."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from IPython.lib.pretty import pretty

from cam_widgets.viewer import CamViewer
from cam_widgets.viewer.state import resize_notice

from tests.viewer_helpers import images, model  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:  # noqa: F811
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


@pytest.mark.parametrize("as_text", [True, False], ids=["str", "PathLike"])
def test_a_saved_path_is_loaded_as_explain_to_parquet_loads_it(saved, images, as_text):  # noqa: F811
    viewer = CamViewer(str(saved) if as_text else saved, layer="conv_b")
    assert isinstance(viewer.model, keras.Model)
    assert [layer.name for layer in viewer.model.layers] == [
        "pixels", "conv_a", "pool", "conv_b", "gap", "head"]
    viewer.show(images[0])
    viewer.flush()
    assert viewer.error is None
    assert viewer.current_map.shape == (16, 16)  # the image as given


def test_a_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.keras"
    with pytest.raises(ValueError, match=r"Cannot load a model from '.*nope\.keras': no such file"):
        CamViewer(missing)


def test_a_bad_layer_fails_at_construction_with_the_close_matches(model):  # noqa: F811
    with pytest.raises(ValueError, match=r"No layer 'conv_c' in the model\. Did you mean "
                                         r"'conv_b', 'conv_a'\?"):
        CamViewer(model, layer="conv_c")
    with pytest.raises(ValueError, match=r"Layer index 9 is out of range: the model has 5 layers \(valid indices -5\.\.4\)"):
        CamViewer(model, layer=9)


def test_a_bad_method_fails_at_construction_with_the_close_matches(model):  # noqa: F811
    with pytest.raises(ValueError, match=r"gradcamm.*'gradcam'"):
        CamViewer(model, method="gradcamm")


def test_a_bare_viewer_says_to_call_show(model):  # noqa: F811
    viewer = CamViewer(model)
    assert repr(viewer) == ("<CamViewer of 'tiny' (gradcam): call .show(img) to explain an "
                            "image; .widget is the page once shown>")
    assert pretty(viewer) == repr(viewer)  # what a cell's bare value prints
    assert viewer.show(np.zeros((16, 16, 3), np.float32)) is viewer.widget



@pytest.mark.parametrize("given, model_size, expected", [
    ((20, 20), (16, 16),
     "image resized from 20×20 to 16×16 (width×height, bilinear), the model's input"),
    ((300, 400), (168, 224),  # 4:3 to 4:3: not squashed
     "image resized from 400×300 to 224×168 (width×height, bilinear), the model's input"),
    ((480, 640), (224, 224),
     "image resized from 640×480 to 224×224 (width×height, bilinear), the model's input; "
     "squashed from aspect 1.33 to 1.00: crop it to 1:1 first to keep its shapes"),
])
def test_the_resize_notice_says_width_by_height_and_squashed(given, model_size, expected):
    assert resize_notice(given, model_size) == expected


def test_a_wide_photo_shown_to_a_square_model_is_called_squashed(model):  # noqa: F811
    viewer = CamViewer(model)
    viewer.show(np.zeros((16, 32, 3), np.float32))  # height 16, width 32
    viewer.flush()
    assert ("image resized from 32×16 to 16×16 (width×height, bilinear), the model&#x27;s "
            "input; squashed from aspect 2.00 to 1.00: crop it to 1:1 first") in (
        viewer.parts.status.value)
