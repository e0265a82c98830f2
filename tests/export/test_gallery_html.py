"""`CamGallery.to_html`: a page of thumbnails with captions and right/wrong marks."""
from __future__ import annotations

import re

import ipywidgets as widgets
import numpy as np
import pytest

from cam_widgets import CamGallery, explain
from cam_widgets.datasets import CLASS_NAMES, make_shapes, shapes_model


class _Transport:
    """The gallery's transport seam, drawing nothing."""

    widget = widgets.Box()

    def draw(self, rgba: np.ndarray) -> None:
        pass

    def on_click(self, callback) -> None:
        pass


@pytest.fixture(scope="module")
def gallery():
    model, data = shapes_model(), make_shapes(6, seed=5)
    labels = data.labels.copy()
    labels[1] = (labels[1] + 1) % 4  # one image labelled wrong
    res = explain(model, data.images)
    return CamGallery(res, images=data.images, labels=labels, transport=_Transport(),
                      class_names=list(CLASS_NAMES), per_page=4)


def test_to_html_writes_this_page_or_every_page(gallery, tmp_path):
    gallery.page = 0
    size = gallery.to_html(tmp_path / "page.html", size=64)
    page = (tmp_path / "page.html").read_text("utf-8")
    assert size == len(page.encode("utf-8"))
    assert page.count("<figure") == 4  # per_page
    assert not re.search(r"https?://", page) and "<script src" not in page
    assert page.count("<img ") == 2 * 4  # image and map per thumbnail
    assert "✗ wrong" in page  # image 1 carries a wrong label
    assert f"true {CLASS_NAMES[int(gallery.data.labels[0])]}" in page
    assert "page 1/2" in page
    gallery.to_html(tmp_path / "all.html", all_pages=True, size=64)
    assert (tmp_path / "all.html").read_text("utf-8").count("<figure") == 6


def test_to_html_refuses_a_tiny_size(gallery, tmp_path):
    with pytest.raises(ValueError, match=r"size must be an int >= 16 .*got 4"):
        gallery.to_html(tmp_path / "x.html", size=4)
