"""CamCompare's grid and the viewer's teaching strips in JupyterLab at 1100x900 with the
file browser open and in the dark theme, and in Notebook 7 at 900 px: no horizontal
scroll, every cell's overlay drawn, captions readable. Screenshots in tests/browser/artifacts/<test>/; with
CAM_WIDGETS_README_SHOT=1 the grid's page shot replaces docs/images/compare.png."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from harness import (ConsoleLog, Server, Shots, kernel_exec, open_in_notebook7, open_notebook,
                     output_of, run_all_cells, stage_notebook, wait_for_canvases)
from playwright.sync_api import Page

from test_viewer_page import CONTRASTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_teaching.ipynb"
README_PICTURE = Path(__file__).parents[2] / "docs" / "images" / "compare.png"

#: the widget's width, its output area's, and every box that clips sideways
WIDTHS = """(el, selector) => {
    const view = el.querySelector(selector);
    const area = el.querySelector('.jp-OutputArea-output');
    const scrolled = [];
    for (const node of view.querySelectorAll('*')) {
        const clips = getComputedStyle(node).overflowX !== 'visible';
        if (clips && node.offsetParent && node.scrollWidth > node.clientWidth)
            scrolled.push(`${node.className} ${node.scrollWidth} > ${node.clientWidth}`);
    }
    return {view: view.scrollWidth, area: area.clientWidth, scrolled};
}"""


def test_compare_grid_and_depth_strip_fit_and_read_in_dark(
        page: Page, lab: Server, test_name: str, shots: Shots, console_log: ConsoleLog) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})
    path = stage_notebook(NOTEBOOK, lab, test_name)
    open_notebook(page, lab, path)
    assert page.locator(".jp-FileBrowser").is_visible(), "the file browser should be open"
    run_all_cells(page, timeout=180)
    grid = output_of(page, 1)
    wait_for_canvases(grid, 9, timeout=120)  # one overlay per method
    kernel_exec(page, "c.flush()", timeout=120)
    grid.locator(".widget-html", has_text="ins").first.wait_for(timeout=60_000)
    got = grid.evaluate(WIDTHS, ".cam-compare")
    assert got["view"] <= got["area"] and not got["scrolled"], got
    assert grid.locator(".widget-html", has_text="★").count() >= 2  # best values starred
    shots.take(page, "compare-1100-sidebar", show=grid)
    kernel_exec(page, "c.sanity_check('gradcam'); c.flush()", timeout=120)
    grid.locator(".widget-html", has_text="rank corr").last.wait_for(timeout=60_000)
    got = grid.evaluate(WIDTHS, ".cam-compare")
    assert got["view"] <= got["area"] and not got["scrolled"], got
    shots.take(page, "compare-sanity-strip",
               show=grid.locator(".widget-html", has_text="rank corr").last)
    if os.environ.get("CAM_WIDGETS_README_SHOT"):  # the page at 1100x900, grid in view
        README_PICTURE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(next(shots.folder.glob("*compare-1100-sidebar.png")), README_PICTURE)

    viewer = output_of(page, 2)
    wait_for_canvases(viewer, 3, timeout=60)
    kernel_exec(page, "v.sanity_check()", timeout=120)
    viewer.locator(".widget-html", has_text="rank corr").first.wait_for(timeout=60_000)
    got = viewer.evaluate(WIDTHS, ".cam-widgets-view")
    assert got["view"] <= got["area"] and not got["scrolled"], got
    assert viewer.locator("button", has_text="last_conv").count() == 1  # the depth strip
    shots.take(page, "viewer-depths-and-sanity", show=viewer.locator("button",
                                                                     has_text="last_conv"))

    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    time.sleep(0.5)
    low = [(t, round(r, 2)) for t, r in grid.evaluate(
        CONTRASTS.replace(".cam-widgets-view", ".cam-compare")) if r < 4.5]
    shots.take(page, "compare-dark", show=grid)
    assert not low, f"texts below 4.5:1 in the dark theme: {low}"
    console_log.assert_clean()


def test_teaching_views_fit_notebook7_at_900px(
        page: Page, notebook: Server, test_name: str, shots: Shots,
        console_log: ConsoleLog) -> None:
    page.set_viewport_size({"width": 900, "height": 900})
    open_in_notebook7(page, notebook, stage_notebook(NOTEBOOK, notebook, test_name),
                      console_log)
    run_all_cells(page, timeout=180)
    grid = output_of(page, 1)
    wait_for_canvases(grid, 9, timeout=120)
    kernel_exec(page, "c.flush()", timeout=120)
    grid.locator(".widget-html", has_text="ins").first.wait_for(timeout=60_000)
    got = grid.evaluate(WIDTHS, ".cam-compare")
    shots.take(page, "notebook7-900-compare", show=grid)
    viewer = output_of(page, 2)
    wait_for_canvases(viewer, 3, timeout=60)
    kernel_exec(page, "v.sanity_check()", timeout=120)
    viewer.locator(".widget-html", has_text="rank corr").first.wait_for(timeout=60_000)
    strips = viewer.evaluate(WIDTHS, ".cam-widgets-view")
    shots.take(page, "notebook7-900-depths-and-sanity",
               show=viewer.locator("button", has_text="last_conv"))
    assert got["view"] <= got["area"] and not got["scrolled"], got
    assert strips["view"] <= strips["area"] and not strips["scrolled"], strips
    console_log.assert_clean()
