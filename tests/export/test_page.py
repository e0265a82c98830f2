"""The HTML writers (`cam_widgets.export`): self-contained pages, escaped text, one map
per class x layer."""
from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from cam_widgets import render
from cam_widgets.export import MapView, Thumbnail, ViewerPage, gallery_html, viewer_html

PNG = render.encode_png(np.zeros((2, 3, 4), np.uint8))


def _view(cls: int, layer: str | None, label: str = "cat") -> MapView:
    heat = render.encode_png(np.full((2, 3, 4), cls * 10 + len(layer or ""), np.uint8))
    return MapView(cls, f"{label} · score 1", layer, heat, PNG, ("0", "0.5", "1"),
                   (f"{label} · score 1", "gradcam at " + str(layer)))


def _srcs(page: str, css_class: str) -> list[str]:
    return re.findall(rf'<img class="{css_class}" alt="" src="([^"]*)"', page)


def _offline(page: str) -> None:
    assert not re.search(r"https?://", page)
    assert "<script src" not in page.lower()
    assert "<link" not in page.lower()


def test_viewer_page_has_one_map_per_class_and_layer_and_no_url():
    views = tuple(_view(c, layer) for c in (3, 1) for layer in ("conv_a", "block/conv_b"))
    page = viewer_html(ViewerPage("Lesson 1", PNG, views, opacity=0.25))
    _offline(page)
    maps = _srcs(page, "cw-map")
    assert len(maps) == 4
    assert len(set(maps)) == 4
    decoded = Image.open(io.BytesIO(base64.b64decode(maps[0].split(",", 1)[1])))
    assert np.asarray(decoded)[0, 0, 0] == 3 * 10 + len("conv_a")
    assert page.count('class="cw-class"') == 2  # one button per class
    assert page.count("<option ") == 2  # one menu entry per layer
    assert 'data-cls="3" data-layer="block/conv_b"' in page
    assert 'value="0.25"' in page and "opacity:0.25" in page
    assert "@media (prefers-color-scheme: dark)" in page
    assert page.startswith("<!DOCTYPE html>")


def test_viewer_page_escapes_every_text():
    view = MapView(0, "<b>cat</b> & dog", 'la"yer<x>', PNG, PNG, ("<0", "1", "2>"),
                   ("<script>alert(1)</script>",))
    page = viewer_html(ViewerPage("<i>title</i>", PNG, (view,), note="a < b"))
    assert "<b>cat" not in page and "&lt;b&gt;cat&lt;/b&gt; &amp; dog" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'data-layer="la&quot;yer&lt;x&gt;"' in page
    assert "<title>&lt;i&gt;title&lt;/i&gt;</title>" in page
    assert "<span>&lt;0</span>" in page and "a &lt; b" in page


def test_a_method_without_layer_gets_one_menu_entry():
    page = viewer_html(ViewerPage("t", PNG, (_view(0, None), _view(1, None))))
    assert page.count("<option ") == 1 and "(no layer)" in page
    assert len(_srcs(page, "cw-map")) == 2


def test_viewer_page_needs_a_map():
    with pytest.raises(ValueError, match="at least one map"):
        viewer_html(ViewerPage("t", PNG, ()))


def test_gallery_page_marks_right_and_wrong_and_escapes():
    thumbs = [Thumbnail(PNG, PNG, ("circle <0.9>", "true: circle"), True),
              Thumbnail(PNG, PNG, ("square", "true: circle"), False),
              Thumbnail(PNG, PNG, ("star",), None)]
    page = gallery_html("Shapes & co", thumbs, opacity=0.7, size=96)
    _offline(page)
    assert page.count("<figure") == 3
    assert page.count("✓ right") == 1 and page.count("✗ wrong") == 1
    assert "circle &lt;0.9&gt;" in page and "Shapes &amp; co" in page
    assert page.count('style="opacity:0.7"') == 3
    assert "--thumb:96px" in page


def test_an_empty_gallery_page_says_so():
    assert "No image matches" in gallery_html("empty", [])
