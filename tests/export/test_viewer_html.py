"""`CamViewer.to_html` and the "Save HTML" button on the shipped shapes model."""
from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from cam_widgets.datasets import CLASS_NAMES, make_shapes, shapes_model
from cam_widgets.viewer import CamViewer
from tests.viewer_helpers import kernel, wire  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def shapes():
    return shapes_model(), make_shapes(2, seed=3)


def _decoded(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
                      .convert("RGBA"))


def _maps(page: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<div class="cw-view" hidden data-cls="(\d+)" data-layer="([^"]*)">'
                      r'<img class="cw-map" alt="" src="([^"]*)"', page)


def test_to_html_holds_the_top_classes_at_the_menu_layers(shapes, wire, tmp_path):
    model, data = shapes
    viewer = CamViewer(model, class_names=list(CLASS_NAMES), prefetch=False)
    viewer.show(data.images[0])
    menu = [value for _, value in viewer.parts.controls["layer"].options]
    assert len(menu) == 6
    shown_heat = wire.drawn(viewer)["heatmap"]
    size = viewer.to_html(tmp_path / "view.html", classes=3)
    page = (tmp_path / "view.html").read_text("utf-8")
    assert size == len(page.encode("utf-8"))
    maps = _maps(page)
    assert len(maps) == 3 * 6
    assert [layer for _, layer, _ in maps[:6]] == menu
    assert len({cls for cls, _, _ in maps}) == 3
    first = int(re.search(r'<body data-first="(\d+)">', page).group(1))
    shown_class, shown_layer, shown_map = maps[first]
    assert (int(shown_class), shown_layer) == (viewer.target, viewer.layer)
    np.testing.assert_array_equal(_decoded(shown_map), shown_heat)  # what the viewer drew
    assert not re.search(r"https?://", page) and "<script src" not in page
    assert f">{CLASS_NAMES[viewer.target]} ({viewer.target}) · score " in page


def test_to_html_reuses_the_cached_map(shapes, kernel, tmp_path):
    model, data = shapes
    viewer = CamViewer(model, prefetch=False)
    viewer.show(data.images[1])
    calls = len(kernel.calls)
    viewer.to_html(tmp_path / "one.html", classes=1, layers=[viewer.layer])
    assert len(kernel.calls) == calls  # the shown map came from the cache
    viewer.to_html(tmp_path / "two.html", classes=2, layers=[viewer.layer])
    assert len(kernel.calls) == calls + 1  # only the second class was computed
    assert len(_maps((tmp_path / "two.html").read_text("utf-8"))) == 2


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(classes=0), ValueError, r"classes must be >= 1 .*got 0"),
    (dict(classes=2.5), TypeError, r"classes must be an int >= 1"),
    (dict(layers=["last_cnv"]), ValueError, r"unknown layer 'last_cnv'; did you mean \['last_conv'"),
    (dict(layers="last_conv"), TypeError, r"layers must be None or a list"),
    (dict(layers=[]), ValueError, r"layers is empty"),
])
def test_to_html_refuses_bad_input(shapes, tmp_path, kwargs, error, message):
    model, data = shapes
    viewer = CamViewer(model, prefetch=False)
    viewer.show(data.images[0])
    with pytest.raises(error, match=message):
        viewer.to_html(tmp_path / "bad.html", **kwargs)
    assert not (tmp_path / "bad.html").exists()


def test_save_html_button_writes_the_file_or_says_why_not(shapes, tmp_path, monkeypatch):
    model, data = shapes
    monkeypatch.chdir(tmp_path)
    viewer = CamViewer(model, prefetch=False)
    button = viewer._wiring.save_html
    button.button.click()
    assert "not saved: nothing is shown yet" in button.note.value
    viewer.show(data.images[0])
    button.button.click()
    assert (tmp_path / "cam_view.html").stat().st_size > 10_000
    assert "saved " in button.note.value and "cam_view.html" in button.note.value
    # five classes asked, the model has four: all four, at the six menu layers
    assert len(CLASS_NAMES) == 4
    assert len(_maps((tmp_path / "cam_view.html").read_text("utf-8"))) == 4 * 6


def test_to_html_starts_with_the_shown_class_even_outside_the_top(shapes, tmp_path):
    model, data = shapes
    viewer = CamViewer(model, prefetch=False)
    viewer.show(data.images[0])
    predictions = viewer._wiring.session.explainer.predictions[0]
    last = int(np.argmin(predictions))  # the least likely class
    viewer.target = last
    viewer.to_html(tmp_path / "v.html", classes=2, layers=["last_conv", "conv1"])
    maps = _maps((tmp_path / "v.html").read_text("utf-8"))
    assert [(int(c), layer) for c, layer, _ in maps] == [
        (last, "last_conv"), (last, "conv1"),
        (int(np.argmax(predictions)), "last_conv"), (int(np.argmax(predictions)), "conv1")]
