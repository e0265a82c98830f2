"""CamCompare headless, through RecordingTransport, on the shipped shapes model."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from cam_widgets import CamCompare, explain
from cam_widgets.datasets import CLASS_NAMES, make_shapes, shapes_model
from cam_widgets.compare import grid
from cam_widgets.compare.cells import CellMap
from cam_widgets.compare.page import BUSY
from cam_widgets.metrics import deletion_insertion, sanity_check
from cam_widgets.viewer.transport import RecordingTransport

METHODS = ("occlusion", "saliency", "gradcam", "gradcam++")


class Recorded(CamCompare):
    transport_class = RecordingTransport


@pytest.fixture(scope="module")
def shown():
    model, data = shapes_model(), make_shapes(2, seed=3)
    compare = Recorded(model, methods=METHODS, class_names=CLASS_NAMES, boxes=data.boxes[:1])
    compare.show(data.images[0])
    return compare, model, data


def heat_times(compare, method):
    return [sent.time for sent in compare.transports[method].log if sent.heatmap]


def test_every_cell_has_its_map_and_numbers_the_cheap_ones_first(shown):
    compare, model, data = shown
    reference = explain(model, data.images[:1], method="gradcam")
    np.testing.assert_allclose(compare.maps["gradcam"].values, reference.maps[0], atol=1e-5)
    curves = deletion_insertion(model, data.images[:1], reference.maps, reference.targets,
                                steps=16)
    assert compare.numbers["gradcam"].deletion == pytest.approx(curves.deletion_auc[0])
    assert compare.numbers["gradcam"].insertion == pytest.approx(curves.insertion_auc[0])
    assert compare.numbers["gradcam"].pointing is True
    # drawn in cost order: the CAM family, then saliency, then occlusion
    last = {m: heat_times(compare, m)[-1] for m in METHODS}
    assert last["gradcam"] < last["gradcam++"] < last["saliency"] < last["occlusion"]


def test_the_best_value_of_each_column_is_starred(shown):
    compare = shown[0]
    deletions = {m: n.deletion for m, n in compare.numbers.items()}
    best = min(deletions, key=deletions.get)
    assert f"del {deletions[best]:.3f}★" in compare.page.captions[best].value
    worst = max(deletions, key=deletions.get)
    assert f"del {deletions[worst]:.3f}<" in compare.page.captions[worst].value


def test_opacity_sends_no_pixels_and_colormap_resends_heatmaps(shown):
    compare = shown[0]
    before = {m: len(t.log) for m, t in compare.transports.items()}
    compare.opacity = 0.8
    for method, transport in compare.transports.items():
        new = transport.log[before[method]:]
        assert len(new) == 1 and new[0].nbytes == 0 and new[0].opacity == 0.8
    compare.colormap = "viridis"
    assert all(t.log[-1].heatmap for t in compare.transports.values())
    compare.colormap, compare.opacity = "auto", 0.5


def test_snapshot_is_the_captioned_grid_and_the_saved_notebook_shows_it(shown, tmp_path):
    compare = shown[0]
    picture = compare.snapshot()
    assert picture.dtype == np.uint8 and picture.shape[2] == 4
    assert picture.shape[1] >= 3 * 160  # three columns of cells at least 160 px wide
    compare.save(tmp_path / "grid.png")
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "image/png" in compare.widget._repr_mimebundle_()


def test_a_class_change_recomputes_every_cell_and_the_latest_wins(shown):
    compare = shown[0]

    async def change_twice():
        compare.target = 1
        compare.target = 2  # before the first class's cells are done
        await compare.wait()

    runs = compare.jobs.scheduler.runs
    asyncio.run(change_twice())
    assert {cell.target for cell in compare.maps.values()} == {2}
    assert set(compare.numbers) == set(METHODS)
    # class 1's jobs were dropped: at most the one in flight ran, then class 2's eight
    assert compare.jobs.scheduler.runs - runs <= 2 * len(METHODS) + 1
    assert "class triangle (chosen)" in compare.page.header.value
    compare.target = None


def test_bad_settings_are_refused_with_what_would_be_right():
    model = shapes_model()
    with pytest.raises(ValueError, match="unknown: \\['gradcan'\\]"):
        CamCompare(model, methods=("gradcan",))
    compare = CamCompare(model, methods=("gradcam",))
    with pytest.raises(ValueError, match="class index 0..3"):
        compare.target = 7


def test_a_cell_whose_map_equals_an_earlier_ones_says_so():
    values = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    maps = {"gradcam": CellMap("gradcam", values, 0, False),
            "hirescam": CellMap("hirescam", values + 5e-4, 0, False),  # within 1e-3
            "layercam": CellMap("layercam", values[::-1].copy(), 0, False),
            "eigencam": CellMap("eigencam", np.zeros((4, 4), np.float32), 0, False),
            "scorecam": CellMap("scorecam", np.zeros((4, 4), np.float32), 0, False)}
    order = ("gradcam", "layercam", "hirescam", "eigencam", "scorecam")
    assert [grid.same_as(m, maps, order) for m in order] == [
        None, None, "gradcam", None, None]  # flat maps are never "the same"
    lines = grid.caption_lines("hirescam", None, True, None, {}, "gradcam")
    assert lines == ["hirescam · same map as gradcam", "del ...", "ins ..."]


def test_the_sanity_check_of_a_cell_shows_under_the_grid_and_in_the_snapshot(shown):
    compare, model, data = shown
    before = compare.snapshot()
    with pytest.raises(ValueError, match="one of the grid's methods"):
        compare.sanity_check("layercam")
    compare.target = 1
    compare.flush()
    compare.sanity_check("saliency")
    compare.flush()
    want = sanity_check(model, data.images[:1], method="saliency", target=1)
    got = compare.sanity.check
    assert got.layers == want.layers and len(got.layers) >= 2
    np.testing.assert_allclose(got.maps, want.maps, atol=1e-5)
    assert len(compare.sanity.strip.children) == len(want.layers) + 1  # original + steps
    captions = [item.children[1].value for item in compare.sanity.strip.children]
    assert captions[0] == "original<br>rank corr 1"
    assert captions[1].endswith(f"rank corr {want.spearman_abs[0, 0]:.2f}")
    assert compare.sanity.note.value.startswith("saliency: sanity check: layers randomised")
    with_strip = compare.snapshot()
    assert with_strip.shape[0] > before.shape[0] and with_strip.shape[1] == before.shape[1]
    compare.target = None  # another class: the strip belonged to class 1
    assert compare.sanity.check is None and compare.sanity.strip.children == ()
    compare.flush()


def test_show_returns_with_the_shared_pass_drawn_and_the_rest_fill_in():
    """In a notebook (a running loop) show() returns once the CAMs and saliency, computed
    in one job, are drawn; the other cells fill in afterwards. A class change dims every
    cell, which keeps its picture until its new map arrives."""
    model, data = shapes_model(), make_shapes(1, seed=3)

    async def session():
        compare = Recorded(model, methods=("gradcam", "saliency", "occlusion"))
        compare.show(data.images[0])
        shown = set(compare.maps)
        await compare.wait(timeout=120)
        heat = compare.transports["gradcam"].shown()["heatmap"]
        compare.target = 2  # a class change: each cell keeps its picture, dimmed
        dimmed = {m for m in compare.methods if BUSY in compare.page.cells.children[
            compare.methods.index(m)]._dom_classes}
        kept = compare.transports["gradcam"].shown()["heatmap"] == heat
        await compare.wait(timeout=120)
        return compare, shown, dimmed, kept

    compare, shown, dimmed, kept = asyncio.run(session())
    assert shown == {"gradcam", "saliency"}
    assert set(compare.maps) == set(compare.numbers) == {"gradcam", "saliency", "occlusion"}
    assert dimmed == set(compare.methods) and kept
    assert not any(BUSY in cell._dom_classes for cell in compare.page.cells.children)
    assert {cell.target for cell in compare.maps.values()} == {2}


def test_a_class_change_asks_a_running_expensive_map_or_numbers_job_to_stop_and_only_then():
    """The stop (kernel.cancel) is asked only while this grid's own expensive map job or
    numbers job runs, and a job starting clears any stop left over."""
    from cam_widgets.kernel import cancel

    compare = Recorded(shapes_model(), methods=("gradcam", "occlusion"))
    source = type("Source", (), {"plan": lambda self, methods: [("gradcam",)]})()
    try:
        compare.jobs._started("maps", ("gradcam",))  # a cheap map runs: no stop
        compare.jobs.restart(source, 1)
        assert not cancel.stop_requested()
        compare.jobs._started("maps", ("occlusion",))  # an expensive one runs: stop it
        compare.jobs.restart(source, 2)
        assert cancel.stop_requested()
        compare.jobs._started("", ())  # the job ended: nothing is left over
        assert not cancel.stop_requested()
        compare.jobs.restart(source, 3)
        assert not cancel.stop_requested()
        compare.jobs._started("numbers", ("gradcam",))  # numbers of the old class: stop
        compare.jobs.restart(source, 1)
        assert cancel.stop_requested()
    finally:
        cancel.clear()
