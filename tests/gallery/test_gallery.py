"""CamGallery headless: rows chosen and ordered, thumbnails, pages, clicks, the viewer."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest

from cam_widgets import CamGallery, explain, explain_to_parquet, read_results, render
from cam_widgets.gallery import compose
from cam_widgets.gallery.data import from_table
from cam_widgets.gallery.state import View, page_rows, selected_rows


class RecordingTransport:
    """Our transport seam, recording what would be drawn; clicks are simulated."""

    def __init__(self) -> None:
        self.widget = widgets.Box()  # stands where the canvas would
        self.frames: list[np.ndarray] = []
        self.callback = None

    def draw(self, rgba: np.ndarray) -> None:
        self.frames.append(rgba.copy())

    def on_click(self, callback) -> None:
        self.callback = callback


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from cam_widgets.datasets import make_shapes, shapes_model

    model, data = shapes_model(), make_shapes(12, seed=21)
    labels = data.labels.copy()
    labels[[2, 7]] = (labels[[2, 7]] + 1) % 4  # two images labelled wrong: "misclassified"
    folder = tmp_path_factory.mktemp("gallery") / "out"
    explain_to_parquet(model, data.images, folder, labels=labels, boxes=data.boxes,
                       map_size=(16, 16))
    return model, data, labels, folder


def test_filters_and_sorting_choose_rows(results):
    model, data, labels, folder = results
    table = read_results(folder)
    rows = from_table(table, images=data.images)
    predicted = table.column("predicted").to_numpy()
    assert predicted.tolist() == data.labels.tolist()  # the model is right on all 12
    assert selected_rows(rows, View(misclassified=True)).tolist() == [2, 7]
    assert selected_rows(rows, View(predicted=1)).tolist() == np.flatnonzero(predicted == 1).tolist()
    assert selected_rows(rows, View(label=1)).tolist() == np.flatnonzero(labels == 1).tolist()
    scores = table.column("score").to_numpy()
    assert selected_rows(rows, View(sort_by="score")).tolist() == np.argsort(scores, kind="stable").tolist()
    top = selected_rows(rows, View(sort_by="probability", descending=True))
    probability = table.column("probability").to_numpy()
    assert np.all(np.diff(probability[top]) <= 0)
    energy = table.column("energy_in_box").to_numpy()
    assert selected_rows(rows, View(sort_by="energy_in_box"))[0] == int(np.argmin(energy))
    paged = View(per_page=5, page=2)
    assert page_rows(selected_rows(rows, paged), paged).tolist() == [10, 11]


def test_thumbnail_is_the_viewers_overlay_at_thumbnail_size():
    import matplotlib

    image = np.zeros((8, 8, 3), np.float32)
    image[:, 4:] = 1.0
    attribution = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1))
    thumb = compose.thumbnail(image, attribution, 8, 0.25, "viridis")
    # column 6 holds 6/7: the viewer's 256-colour table gives colour floor(256 * 6/7) = 219
    colour = np.asarray(matplotlib.colormaps["viridis"]((219 + 0.5) / 256)[:3]) * 255
    alpha = 64 / 255  # a canvas keeps opacity in 8 bits: 0.25 -> 64/255
    want = np.rint(255 * (1 - alpha) + np.rint(colour) * alpha)  # over the white half
    np.testing.assert_allclose(thumb[0, 6, :3], want, atol=1)
    black = np.rint(np.rint(np.asarray(matplotlib.colormaps["viridis"](0.5 / 256)[:3]) * 255)
                    * alpha)
    np.testing.assert_allclose(thumb[0, 0, :3], black, atol=1)  # value 0 over the black half
    assert (thumb[..., 3] == 255).all()


def test_layout_maps_clicks_to_cells():
    layout = compose.Layout(columns=3, cell=10, border=2, gap=4)
    assert layout.pitch == 18 and layout.size(5) == (40, 58)
    assert layout.origin(4) == (22, 22)
    assert layout.cell_at(22 + 5, 22 + 5, 5) == 4
    assert layout.cell_at(2, 2, 5) is None  # in the gap
    assert layout.cell_at(40 + 5, 22 + 5, 5) is None  # cell 5 is not on the sheet


def test_gallery_draws_pages_and_opens_the_clicked_image(results):
    model, data, labels, folder = results
    transport = RecordingTransport()
    gallery = CamGallery(folder, model=model, images=data.images, transport=transport,
                         per_page=4, columns=2, thumb_size=16)
    assert len(transport.frames) == 1
    sheet = transport.frames[-1]
    layout = compose.Layout(columns=2, cell=16, caption=compose.caption_height(2))
    assert gallery.layout == layout  # two caption lines under each thumbnail
    assert sheet.shape == (*layout.size(4), 4)
    y, x = layout.origin(1)
    b = layout.border
    np.testing.assert_array_equal(sheet[y + b:y + b + 16, x + b:x + b + 16],
                                  gallery.thumbnail(1))
    assert tuple(sheet[y, x, :3]) == compose.CORRECT
    gallery.misclassified = True
    assert gallery.shown.tolist() == [2, 7]
    y, x = layout.origin(0)
    assert tuple(transport.frames[-1][y, x, :3]) == compose.WRONG
    gallery.misclassified = False
    gallery.page = 5  # past the end: clamped to the last page
    assert gallery.page == 2 and gallery.shown.tolist() == [8, 9, 10, 11]
    transport.callback(*reversed([v + b + 3 for v in layout.origin(3)]))  # click cell 3
    assert gallery.selected == 11
    view = gallery.show()
    viewer_panel = view.children[1].children[1]
    assert viewer_panel is gallery.viewer.widget
    panels = gallery.viewer.panels()  # image | heatmap | overlay
    np.testing.assert_array_equal(panels[:, :64, :3], render.to_rgb8(data.images[11]))
    assert gallery.viewer.target == int(gallery.data.targets[11])  # the class stored


def test_gallery_over_an_explain_result_without_a_model(results):
    model, data, labels, _ = results
    res = explain(model, data.images[:5])
    transport = RecordingTransport()
    gallery = CamGallery(res, images=data.images[:5], labels=labels[:5], boxes=data.boxes[:5],
                         transport=transport, sort_by="pointing_game")
    assert len(gallery.rows) == 5
    assert gallery.sort_by == "pointing_game"  # settings given to the constructor are kept
    hits = gallery.data.pointing_game
    assert gallery.shown.tolist() == np.argsort(hits, kind="stable").tolist()
    gallery.click(0)
    caption, panel = gallery.show().children[1].children
    assert str(gallery.data.ids[gallery.selected]) in caption.value
    assert panel.value[:8] == b"\x89PNG\r\n\x1a\n"  # the stored map, enlarged


@pytest.mark.parametrize("source, kwargs, error, pattern", [
    (42, {}, TypeError, "CamGallery shows a results folder"),
    (42, {"sortby": "score"}, TypeError, "no setting 'sortby'. Did you mean 'sort_by'"),
    ("no/such/folder", {}, FileNotFoundError, "No explain_to_parquet results"),
])
def test_bad_sources(source, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        CamGallery(source, transport=RecordingTransport(), **kwargs)


def test_explain_result_needs_its_images(results):
    model, data, _, _ = results
    with pytest.raises(ValueError, match="needs its images"):
        CamGallery(explain(model, data.images[:2]), transport=RecordingTransport())


def test_canvas_transport_sizes_the_canvas_to_the_sheet(results):
    model, data, labels, folder = results
    gallery = CamGallery(folder, images=data.images, per_page=5, columns=5, thumb_size=20)
    canvas = gallery.transport.widget
    assert (canvas.height, canvas.width) == gallery.sheet.shape[:2] == \
        compose.Layout(columns=5, cell=20, caption=28).size(5) == (62, 154)  # 2 caption lines


def test_rows_without_labels_or_boxes(results, tmp_path):
    model, data, _, _ = results
    explain_to_parquet(model, data.images[:4], tmp_path / "bare", method="saliency")
    gallery = CamGallery(tmp_path / "bare", images=data.images, transport=RecordingTransport())
    assert gallery.data.labels.tolist() == [-1] * 4  # unknown, not a class
    assert np.isnan(gallery.data.pointing_game).all()
    assert gallery.data.layer is None and gallery.data.method == "saliency"
    gallery.misclassified = True
    assert gallery.shown.tolist() == []  # nothing is known to be wrong
    gallery.misclassified, gallery.sort_by = False, "pointing_game"
    assert gallery.shown.tolist() == [0, 1, 2, 3]  # unknown values keep the source order
    assert tuple(gallery.sheet[4, 4, :3]) == compose.NEUTRAL


def test_a_binary_sigmoid_head_is_read_as_p_and_1_minus_p():
    """Class 1 where p >= 0.5 with probability p, else class 0 with 1 - p: a positive
    image predicted positive is not flagged misclassified (with the model given or not)."""
    from tests.kernel.helpers import binary_logits, binary_sigmoid_model

    images = np.random.default_rng(18).random((6, 8, 8, 3)).astype(np.float32)
    model = binary_sigmoid_model(images)
    p = 1 / (1 + np.exp(-binary_logits(model, images)))
    predicted = (p >= 0.5).astype(np.int64)
    res = explain(model, images)
    for given in (model, None):
        gallery = CamGallery(res, model=given, images=images, labels=predicted,
                             transport=RecordingTransport())
        np.testing.assert_array_equal(gallery.data.predicted, predicted)
        np.testing.assert_allclose(gallery.data.probability, np.where(predicted == 1, p, 1 - p),
                                   rtol=1e-5)
        assert not gallery.data.misclassified.any()


NAMES = ["disc", "square", "cross", "ring", "bar"]


@pytest.mark.parametrize("names", [
    NAMES, dict(enumerate(NAMES)),
    lambda preds, top=5: [[("id", NAMES[i], float(p[i])) for i in np.argsort(-p)[:top]]
                          for p in preds],
], ids=["list", "mapping", "decoder"])
def test_class_names_as_the_viewer_takes_them(results, names):
    model, data, labels, folder = results
    gallery = CamGallery(folder, images=data.images, class_names=names,
                         transport=RecordingTransport())
    assert [gallery.name(i) for i in range(4)] == NAMES[:4]
    assert gallery.name(-1) == "?"
    gallery.click(0)
    assert f"true {NAMES[labels[0]]}" in gallery.show().children[1].children[0].value


def test_imagenet_class_names_and_their_offline_fallback(results, monkeypatch):
    import keras.applications.imagenet_utils as imagenet_utils

    model, data, _, folder = results
    seen = []

    def decode(preds, top=5):  # Keras' decoder takes exactly 1000 classes
        seen.append(preds.shape)
        return [[("n0", f"imagenet_{i}", float(p[i])) for i in np.argsort(-p)[:top]]
                for p in preds]

    monkeypatch.setattr(imagenet_utils, "decode_predictions", decode)
    gallery = CamGallery(folder, images=data.images, class_names="imagenet",
                         transport=RecordingTransport())
    assert [gallery.name(i) for i in range(3)] == ["imagenet_0", "imagenet_1", "imagenet_2"]
    assert seen == [(1, 1000)]

    def offline(preds, top=5):
        raise OSError("no network")

    monkeypatch.setattr(imagenet_utils, "decode_predictions", offline)
    gallery = CamGallery(folder, images=data.images, class_names="imagenet",
                         transport=RecordingTransport())
    assert gallery.name(2) == "class 2"
    assert gallery.class_names.notice.startswith(
        "ImageNet class names not loaded: OSError: no network. Showing class indices; pass "
        "class_names= a list of the 1000 names")
    with pytest.raises(ValueError, match='class_names must be a list, a dict, a callable or "imagenet"'):
        CamGallery(folder, images=data.images, class_names="imagenett")


def test_gallery_over_a_folder_reads_maps_lazily_and_pages_like_a_table(results, tmp_path):
    from cam_widgets.audit.results import MapReader

    model, data, labels, _ = results
    folder = tmp_path / "batches"
    explain_to_parquet(model, data.images, folder, labels=labels, map_size=(16, 16),
                       batch_size=4)  # three files
    settings = dict(images=data.images, per_page=4, columns=2, thumb_size=16,
                    sort_by="score", descending=True)
    lazy = CamGallery(folder, transport=RecordingTransport(), **settings)
    eager = CamGallery(read_results(folder).to_table(), transport=RecordingTransport(),
                       **settings)
    assert isinstance(lazy.data.maps, MapReader)  # no map is in memory until shown
    for page in (0, 2, 1):
        lazy.page = eager.page = page
        assert lazy.shown.tolist() == eager.shown.tolist()
        np.testing.assert_array_equal(lazy.sheet, eager.sheet)
    scores = read_results(folder).column("score").to_numpy()
    assert lazy.rows.tolist() == np.argsort(-scores, kind="stable").tolist()
    assert [lazy.data.ids[r] for r in lazy.shown] == lazy.shown.tolist()  # ids are indices


def test_thumbnail_cache_holds_three_pages(results):
    model, data, labels, folder = results
    gallery = CamGallery(folder, images=data.images, transport=RecordingTransport(),
                         per_page=2, thumb_size=8)
    gallery.page = 1
    kept = gallery.thumbnail(2)
    for page in (2, 3, 1):  # page 1 again: its thumbnails are reused, not made again
        gallery.page = page
    assert [key[0] for key in gallery._thumbs.keys()] == [4, 5, 6, 7, 2, 3]
    assert gallery.thumbnail(2) is kept
    gallery.per_page = 1  # three kept (2 was used last); page 1 now shows row 1
    assert [key[0] for key in gallery._thumbs.keys()] == [3, 2, 1]


def test_gallery_page_captions_empty_filter_and_header(results):
    model, data, labels, folder = results
    gallery = CamGallery(folder, images=data.images, class_names=NAMES,
                         transport=RecordingTransport(), per_page=4, columns=4, thumb_size=32)
    page = gallery._page
    layout = gallery.layout
    y, x = layout.origin(0)
    band = gallery.sheet[y + 38:y + layout.row_pitch - layout.gap, x:x + 38, :3]
    assert (band < 128).any()  # caption text under thumbnail 0
    gallery.captions = False
    assert gallery.sheet.shape[0] == compose.Layout(4, 32).size(4)[0] == 46
    assert page.message.layout.display == "none" and page.grid.layout.display is None
    gallery.misclassified, gallery.predicted = True, 0  # 2 and 7 are predicted 1 and 2
    assert gallery.shown.tolist() == []
    assert page.message.value == (
        "No images match predicted disc and misclassified (0 of 12 images): set a menu "
        'back to "any" or untick "misclassified only".')
    assert page.message.layout.display is None and page.grid.layout.display == "none"
    gallery.predicted = None
    assert gallery.shown.tolist() == [2, 7] and page.grid.layout.display is None
    gallery.click(0)
    header = gallery.show().children[1].children[0].value
    assert header.startswith(f"<b>image 2 · {NAMES[labels[2]]}</b><br>true ")
    assert "✗ wrong" in header


def test_class_menus_show_any_and_move_both_ways(results):
    """A Dropdown given None selects nothing (a blank box in the browser): "no filter"
    is the menu's "any" entry, and None in the setting."""
    model, data, labels, folder = results
    gallery = CamGallery(folder, images=data.images, class_names=NAMES, label=1,
                         transport=RecordingTransport())
    menus = gallery._controls.menus
    assert menus["predicted"].label == "any" and menus["predicted"].index == 0
    assert menus["label"].label == "square"  # the setting given to the constructor
    menus["predicted"].value = 2
    assert gallery.predicted == 2
    assert gallery.shown.tolist() == np.flatnonzero((labels == 1) & (data.labels == 2)).tolist()
    gallery.label = None
    assert menus["label"].label == "any" and menus["label"].index == 0
    menus["predicted"].label = "any"
    assert gallery.predicted is None and len(gallery.shown) == 12
