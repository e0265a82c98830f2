"""The gallery's words: thumbnail captions, the opened image's header, the sentence for
an empty filter; and the bounded thumbnail cache."""
from __future__ import annotations

import numpy as np
import pytest

from cam_widgets.gallery import compose, words
from cam_widgets.gallery.cache import ThumbnailCache
from cam_widgets.gallery.data import UNKNOWN, GalleryData
from cam_widgets.gallery.state import View

NAMES = ["cat", "dog", "fox"]


def name(index: int) -> str:
    return "?" if index == UNKNOWN else NAMES[index]


def rows(ids=(0, 1, "photos/fox 1.jpg", 3)) -> GalleryData:
    """Four images: right, wrong, no label, no prediction kept (then no probability)."""
    return GalleryData(
        ids=list(ids),
        labels=np.array([0, 1, UNKNOWN, 2]),
        targets=np.array([0, 2, 2, 1]),
        scores=np.array([3.25, 1.5, 0.12345, 7.891], np.float32),
        predicted=np.array([0, 2, 2, UNKNOWN]),
        probability=np.array([0.934, 0.51, 0.875, np.nan], np.float32),
        pointing_game=np.full(4, np.nan, np.float32),
        energy_in_box=np.full(4, np.nan, np.float32),
        maps=np.zeros((4, 2, 2), np.float32), method="gradcam", layer="conv",
        image_of=lambda row: np.zeros((2, 2, 3), np.float32))


@pytest.mark.parametrize("row, want", [
    (0, compose.Caption(("cat", "p 0.93"), "right")),
    (1, compose.Caption(("fox", "p 0.51"), "wrong")),
    (2, compose.Caption(("fox", "p 0.88"), None)),  # no true class: no mark
    (3, compose.Caption(("dog", "score 7.89"), None)),  # no prediction: the explained class
])
def test_thumbnail_captions(row, want):
    assert words.caption(rows(), row, name) == want


@pytest.mark.parametrize("row, want", [
    (0, "<b>image 0 · cat</b><br>true cat · predicted cat (p 0.93) · ✓ right · "
        "map of class cat, score 3.250"),
    (1, "<b>image 1 · dog</b><br>true dog · predicted fox (p 0.51) · ✗ wrong · "
        "map of class fox, score 1.500"),
    (2, "<b>photos/fox 1.jpg · predicted fox</b><br>true ? · predicted fox (p 0.88) · "
        "map of class fox, score 0.123"),
    (3, "<b>image 3 · fox</b><br>true fox · predicted ? · map of class dog, score 7.891"),
])
def test_the_opened_images_header_names_it_and_its_class(row, want):
    assert words.header(rows(), row, name) == want


def test_header_escapes_a_path():
    data = rows(ids=(0, 1, "<b>odd</b>.png", 3))
    assert words.header(data, 2, name).startswith("<b>&lt;b&gt;odd&lt;/b&gt;.png · ")


@pytest.mark.parametrize("view, want", [
    (View(predicted=1), 'No images match predicted dog (0 of 4 images): set a menu back '
                        'to "any".'),
    (View(predicted=0, label=2), 'No images match predicted cat and true class fox (0 of 4 '
                                 'images): set a menu back to "any".'),
    (View(label=0, misclassified=True), 'No images match true class cat and misclassified '
                                        '(0 of 4 images): set a menu back to "any" or untick '
                                        '"misclassified only".'),
    (View(misclassified=True), 'No images match misclassified (0 of 4 images): untick '
                               '"misclassified only".'),
])
def test_an_empty_filter_says_so(view, want):
    assert words.no_match(view, name, 4) == want


def test_the_cache_keeps_the_most_recently_used():
    made = []

    def maker(key):
        return lambda: made.append(key) or np.full(1, key)

    cache = ThumbnailCache(3)
    for key in (1, 2, 3, 1, 4):  # 1 is used again, so 2 is the oldest when 4 comes
        cache.get(key, maker(key))
    assert cache.keys() == [3, 1, 4] and made == [1, 2, 3, 4]
    assert cache.get(1, maker(1))[0] == 1 and made == [1, 2, 3, 4]  # kept: not made again
    cache.capacity = 1
    assert cache.keys() == [1]
    with pytest.raises(ValueError, match="at least 1 thumbnail; got 0"):
        cache.capacity = 0
