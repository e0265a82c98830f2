"""CamGallery in JupyterLab: the grid drawn is the kernel's sheet, and clicking a
thumbnail opens that image in the CamViewer beside the grid (below it when the page is
narrow). With the viewer open, at 1100x900 with the file browser and at 1400 px, light
and dark: nothing scrolls sideways, every menu shows its value in a box that is not cut.
Screenshots in tests/browser/artifacts/<test>/."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

from harness import (CANVAS, ConsoleLog, Server, Shots, canvas_pixels, kernel_array,
                     kernel_exec, open_notebook, output_of, run_all_cells, stage_notebook,
                     wait_for_canvases, wait_for_pixels)
from test_teaching_browser import WIDTHS
from test_viewer_page import CONTRASTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_gallery.ipynb"


def test_lab_gallery_click_opens_the_viewer(page: Page, lab: Server, test_name: str,
                                            shots: Shots, console_log: ConsoleLog) -> None:
    from cam_widgets.gallery.compose import Layout, caption_height
    from cam_widgets.render import to_rgb8

    open_notebook(page, lab, stage_notebook(NOTEBOOK, lab, test_name))
    run_all_cells(page)
    widget = output_of(page, 0)
    grid = wait_for_canvases(widget, 1)
    wait_for_pixels(grid, kernel_array(page, "g.sheet"))
    shots.take(page, "grid", show=grid)

    layout = Layout(columns=4, cell=48, caption=caption_height(2))
    y, x = layout.origin(5)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + x + 24, box["y"] + y + 24)  # the middle of thumbnail 5

    deadline = time.monotonic() + 15
    while kernel_exec(page, "print(g.selected)").strip() != "5":
        assert time.monotonic() < deadline, "the click never reached the gallery"
        time.sleep(0.2)
    canvases = wait_for_canvases(widget, 4)  # the grid and the viewer's three panels
    snapshot = kernel_array(page, "g.viewer.panels()")
    image = kernel_array(page, "g.data.image_of(5)")
    assert snapshot.shape == (64, 64 * 3, 4)
    np.testing.assert_array_equal(snapshot[:, :64, :3], to_rgb8(image))  # image 5 is shown
    viewer = widget.locator(CANVAS)

    def viewer_shows_image_5() -> bool:  # the overlay is blended by the browser: 1 level
        drawn = np.concatenate([canvas_pixels(viewer.nth(i)) for i in (1, 2, 3)], axis=1)
        return drawn.shape == snapshot.shape and int(
            np.abs(drawn.astype(int) - snapshot.astype(int)).max()) <= 1

    deadline = time.monotonic() + 15
    while not viewer_shows_image_5():
        assert time.monotonic() < deadline, "the viewer's canvases never showed image 5"
        time.sleep(0.2)
    # the selected thumbnail is framed in black on the redrawn grid
    wait_for_pixels(canvases.first, kernel_array(page, "g.sheet"))
    assert tuple(canvas_pixels(canvases.first)[y, x, :3]) == (20, 20, 20)
    shots.take(page, "viewer-open")
    console_log.assert_clean()


#: every menu (select) shown in the gallery (hidden ones, such as the viewer's input menu
#: for a one-input model, left out): its value, the text it shows, the width that text
#: needs (font, padding and arrow), its own width, and whether any box around it, up to
#: the output area, cuts it; the width its longest option needs; every button whose text does not fit; where the grid column
#: and the opened image sit
MENUS = """el => {
    const view = el.querySelector('.cam-gallery');
    const area = el.querySelector('.jp-OutputArea-output');
    const ctx = document.createElement('canvas').getContext('2d');
    const cut = node => {
        const r = node.getBoundingClientRect();
        for (let p = node.parentElement; p && p !== area.parentElement; p = p.parentElement) {
            const s = getComputedStyle(p), b = p.getBoundingClientRect();
            if ((s.overflowX !== 'visible' || p === area)
                && (r.left < b.left - 0.5 || r.right > b.right + 0.5)) return p.className;
        }
        return null;
    };
    const menus = [...view.querySelectorAll('select')].filter(s => s.offsetParent).map(s => {
        const st = getComputedStyle(s);
        ctx.font = `${st.fontSize} ${st.fontFamily}`;
        const text = s.selectedIndex >= 0 ? s.options[s.selectedIndex].text : '';
        const need = ctx.measureText(text).width + parseFloat(st.paddingLeft)
            + parseFloat(st.paddingRight) + parseFloat(st.borderLeftWidth)
            + parseFloat(st.borderRightWidth);
        const pad = need - ctx.measureText(text).width;
        const widest = Math.max(...[...s.options].map(o => ctx.measureText(o.text).width)) + pad;
        const label = s.parentElement.querySelector('label');
        return {label: label ? label.textContent : '', value: s.value, text,
                width: s.getBoundingClientRect().width, need, widest, cut: cut(s),
                gallery: !!s.closest('.cam-gallery-left')};
    });
    const buttons = [...view.querySelectorAll('button')]
        .filter(b => b.offsetParent && b.scrollWidth > b.clientWidth)
        .map(b => `${b.textContent} ${b.scrollWidth} > ${b.clientWidth}`);
    const left = view.querySelector('.cam-gallery-left').getBoundingClientRect();
    const side = view.children[1].getBoundingClientRect();
    const grid = view.querySelector('.cam-gallery-grid canvas');
    return {menus, buttons, area: area.clientWidth,
            left: [left.left, left.right, left.bottom], side: [side.left, side.top, side.width],
            grid: [grid.width, grid.getBoundingClientRect().width]};
}"""


def check_fits(widget, where: str) -> dict:
    """Assert the gallery fits its output area and every menu shows its value."""
    got = widget.evaluate(WIDTHS, ".cam-gallery")
    assert got["view"] <= got["area"] and not got["scrolled"], (where, got)
    menus = widget.evaluate(MENUS)
    # the gallery's five menus (sort, predicted, true class) and the viewer's
    assert len(menus["menus"]) >= 3, (where, menus)
    for menu in menus["menus"]:
        assert menu["value"] and menu["text"], (where, "a menu shows nothing", menu)
        assert menu["need"] <= menu["width"] + 0.5, (where, "a menu's text is cut", menu)
        assert menu["cut"] is None, (where, "a box cuts a menu", menu)
        if menu["gallery"]:  # the gallery's own menus show any of their options whole
            assert menu["widest"] <= menu["width"] + 0.5, (where, "an option is cut", menu)
    assert not menus["buttons"], (where, menus["buttons"])
    assert menus["grid"][1] == menus["grid"][0], (where, "the grid is scaled", menus)
    return {**got, **menus}


def test_lab_gallery_with_the_viewer_open_fits_at_1100_and_1400_light_and_dark(
        page: Page, lab: Server, test_name: str, shots: Shots, console_log: ConsoleLog) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})
    open_notebook(page, lab, stage_notebook(NOTEBOOK, lab, test_name))
    assert page.locator(".jp-FileBrowser").is_visible(), "the file browser should be open"
    run_all_cells(page)
    widget = output_of(page, 0)
    grid = wait_for_canvases(widget, 1)
    wait_for_pixels(grid, kernel_array(page, "g.sheet"))
    kernel_exec(page, "g.click(2)")  # the image labelled wrong
    wait_for_canvases(widget, 4)
    kernel_exec(page, "g.viewer.flush()", timeout=60)
    header = widget.locator(".widget-html", has_text="image 2 ·")
    header.wait_for()
    assert "✗ wrong" in header.inner_text()
    time.sleep(0.5)  # menus and layout settle

    measured = {}
    for width, theme in ((1100, "Light"), (1100, "Dark"), (1400, "Dark"), (1400, "Light")):
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate("theme => window.jupyterapp.commands.execute("
                      "'apputils:change-theme', {theme: `JupyterLab ${theme}`})", theme)
        page.wait_for_function("light => document.body.dataset.jpThemeLight === light",
                               arg="true" if theme == "Light" else "false")
        time.sleep(0.7)
        where = f"{width} px, {theme.lower()}"
        got = measured[where] = check_fits(widget, where)
        if width == 1100:  # with the file browser the viewer does not fit beside the grid
            assert got["side"][1] >= got["left"][2] - 1, (where, "viewer not under grid", got)
        else:  # 1400 px: it does (LEFT_PX + margin + SIDE_PX < the output area)
            assert got["side"][0] >= got["left"][1], (where, "viewer not beside grid", got)
        if theme == "Dark":
            low = [(t, round(r, 2)) for t, r in widget.evaluate(
                CONTRASTS.replace(".cam-widgets-view", ".cam-gallery")) if r < 4.5]
            assert not low, (where, f"texts below 4.5:1: {low}")
        name = f"{width}-{theme.lower()}"
        shots.take(page, f"{name}-grid", show=widget.locator(".cam-gallery-left"))
        shots.take(page, f"{name}-header", show=header)
        shots.take(page, f"{name}-viewer", show=widget.locator(".cam-widgets-view"))
    (shots.folder / "measured.json").write_text(json.dumps(measured, indent=1))

    # an empty filter says so in words, in place of the grid
    kernel_exec(page, "g.predicted, g.misclassified = 3, True")
    message = widget.locator(".cam-gallery-empty")
    message.wait_for()
    assert message.inner_text().startswith("No images match predicted cross and misclassified")
    assert not widget.locator(".cam-gallery-grid").is_visible()
    shots.take(page, "empty-filter", show=message)
    console_log.assert_clean()
