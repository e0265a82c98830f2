"""CamViewer's page in JupyterLab: fits the output area at 1100x900 with the file browser
open and at 900 px, draws its colour bar, dims while a slow method runs, keeps the
current view in the saved notebook (PNG and widget state, shown again after the kernel
is gone), and keeps text readable in the dark theme. Screenshots of each state are kept
in tests/browser/artifacts/<test>/. Notebook 7 at 900 px wide: the widget fits its
output area there too. With CAM_WIDGETS_README_SHOT=1 the widget's picture also replaces
docs/images/viewer.png (the README's)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from harness import (ConsoleLog, Server, Shots, api, kernel_array, kernel_exec,
                     open_in_notebook7, open_notebook, output_of, run_all_cells,
                     save_notebook, stage_notebook, wait_for_canvases, wait_for_pixels)
from PIL import Image
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_viewer.ipynb"
README_PICTURE = Path(__file__).parents[2] / "docs" / "images" / "viewer.png"

#: widths of the widget and of its output area (measured in the browser), and every box
#: inside the widget that clips or scrolls sideways (content wider than the box: a
#: dropdown's edge cut off, or a scroll bar where the browser draws one)
WIDTHS = """el => {
    const view = el.querySelector('.cam-widgets-view');
    const area = el.querySelector('.jp-OutputArea-output');
    const scrolled = [];
    for (const node of view.querySelectorAll('*')) {
        const clips = getComputedStyle(node).overflowX !== 'visible';
        if (clips && node.offsetParent && node.scrollWidth > node.clientWidth)
            scrolled.push(`${node.className} ${node.scrollWidth} > ${node.clientWidth}`);
    }
    return {view: view.scrollWidth, area: area.clientWidth, shown: view.clientWidth,
            scrolled};
}"""

#: WCAG contrast of every text in the widget against the background it is drawn on
CONTRASTS = """el => {
    const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = node => {
        for (; node; node = node.parentElement) {
            const c = rgb(getComputedStyle(node).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
        }
        return [255, 255, 255];
    };
    const out = [];
    const walker = document.createTreeWalker(el.querySelector('.cam-widgets-view'), NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        const node = t.parentElement;
        if (!t.textContent.trim() || !node.offsetParent) continue;
        const style = getComputedStyle(node);
        const fg = rgb(style.color).slice(0, 3), bg = background(node);
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        out.push([t.textContent.trim().slice(0, 40), (a + 0.05) / (b + 0.05)]);
    }
    return out;
}"""


def widths(page: Page) -> dict[str, int | list[str]]:
    return output_of(page, 1).evaluate(WIDTHS)


def saved_png(lab: Server, path: str) -> np.ndarray:
    """The image/png of the viewer's output in the saved notebook file."""
    notebook = json.loads((lab.root / path).read_text())
    outputs = notebook["cells"][1]["outputs"]
    pngs = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1, f"{len(pngs)} PNG outputs in the saved cell"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(pngs[0]))))


def test_lab_page_fits_saves_the_current_view_and_reads_in_dark(
        page: Page, lab: Server, test_name: str, shots: Shots, console_log: ConsoleLog) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})
    path = stage_notebook(NOTEBOOK, lab, test_name)
    open_notebook(page, lab, path)
    assert page.locator(".jp-FileBrowser").is_visible(), "the file browser should be open"
    run_all_cells(page)
    widget = output_of(page, 1)
    canvases = wait_for_canvases(widget, 3)

    # 1100x900 with the file browser: no horizontal scroll, the panels shrink to fit
    first = widths(page)
    assert first["view"] <= first["area"] and not first["scrolled"], first
    bar = widget.locator(".cam-widgets-panel img")
    page.wait_for_function("img => img.naturalWidth > 100", arg=bar.element_handle())
    shots.take(page, "lab-1100-sidebar", show=canvases.first)

    # busy: a slow method dims the panels that will change and says what is computed
    kernel_exec(page, "v.method = 'smoothgrad'")
    busy = widget.locator(".cam-widgets-busy")
    busy.first.wait_for(timeout=10_000)
    assert busy.count() == 2
    status = widget.locator(".widget-html", has_text="computing smoothgrad · circle (class 0)")
    status.first.wait_for(timeout=5_000)  # a message of its own, after the dimming
    shots.take(page, "busy-smoothgrad", show=canvases.first)
    busy.first.wait_for(state="detached", timeout=60_000)
    kernel_exec(page, "v.method = 'gradcam'")

    # a class change made from code; the saved notebook's PNG is that view, with captions
    kernel_exec(page, "v.target = 2; v.flush()")
    panels = kernel_array(page, "v.panels()")
    wait_for_pixels(canvases, lambda px: np.array_equal(px[:, :64], panels[:, :64])
                    and np.array_equal(px[:, 64:128], panels[:, 64:128]))
    snapshot = kernel_array(page, "v.snapshot()")
    time.sleep(0.5)  # the display update reaches the page
    save_notebook(page)
    np.testing.assert_array_equal(saved_png(lab, path), snapshot)
    Image.fromarray(snapshot).save(shots.folder / "saved-snapshot.png")
    shots.take(page, "class-triangle-from-code", show=canvases.first)
    size = page.viewport_size  # tall enough for the whole widget, not the status bar
    page.set_viewport_size({"width": size["width"], "height": 1400})
    time.sleep(0.5)
    widget.screenshot(path=str(shots.folder / "widget.png"))
    page.set_viewport_size(size)
    time.sleep(0.5)
    if os.environ.get("CAM_WIDGETS_README_SHOT"):  # refresh the README's picture on demand
        README_PICTURE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shots.folder / "widget.png", README_PICTURE)

    # dark theme: every text of the widget has a contrast of at least 4.5:1
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    time.sleep(0.5)
    low = [(text, round(ratio, 2)) for text, ratio in widget.evaluate(CONTRASTS) if ratio < 4.5]
    shots.take(page, "dark-theme", show=canvases.first)
    assert not low, f"texts below 4.5:1 in the dark theme: {low}"
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Light'})")

    # 900 px wide, file browser closed (the width of Notebook 7's page at 900 px)
    page.set_viewport_size({"width": 900, "height": 900})
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    time.sleep(0.5)
    narrow = widths(page)
    assert narrow["view"] <= narrow["area"] and not narrow["scrolled"], narrow
    shots.take(page, "lab-900", show=canvases.first)
    (shots.folder / "widths.json").write_text(json.dumps({"1100 with sidebar": first,
                                                          "900": narrow}))

    # the kernel goes away; reopened, the saved widget state draws the view again
    save_notebook(page)
    for session in api(lab, "GET", "/api/sessions"):  # the kernel and its widgets are gone
        api(lab, "DELETE", f"/api/sessions/{session['id']}")
    page.reload()
    page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.context?.path "
                           "!== undefined", timeout=30_000)
    widget = output_of(page, 1)
    canvases = wait_for_canvases(widget, 3)
    assert page.locator("text=model not found").count() == 0
    wait_for_pixels(canvases, lambda px: np.array_equal(px[:, :128], panels[:, :128])
                    and int(np.abs(px[:, 128:].astype(int) - panels[:, 128:]).max()) <= 2)
    shots.take(page, "reopened-without-its-kernel", show=canvases.first)
    console_log.assert_clean()


def test_notebook7_page_at_900px_has_no_horizontal_scroll(
        page: Page, notebook: Server, test_name: str, shots: Shots,
        console_log: ConsoleLog) -> None:
    page.set_viewport_size({"width": 900, "height": 900})
    open_in_notebook7(page, notebook, stage_notebook(NOTEBOOK, notebook, test_name),
                      console_log)
    run_all_cells(page)
    widget = output_of(page, 1)
    canvases = wait_for_canvases(widget, 3)
    panels = kernel_array(page, "v.panels()")
    wait_for_pixels(canvases, lambda px: np.array_equal(px[:, :128], panels[:, :128]))
    got = widths(page)
    shots.take(page, "notebook7-900", show=canvases.first)
    shots.take(page, "notebook7-900-controls",
               show=widget.locator(".cam-widgets-view .widget-inline-hbox").last)
    # a method with options adds a dropdown and text boxes to the controls
    kernel_exec(page, "v.method = 'scorecam'; v.flush()")
    max_channels = widget.locator(".widget-text", has_text="max_channels")
    max_channels.wait_for()
    options = widths(page)
    shots.take(page, "notebook7-900-scorecam-options", show=max_channels)
    (shots.folder / "widths.json").write_text(json.dumps(
        {"notebook 7, 900": got, "notebook 7, 900, scorecam options": options}))
    assert got["view"] <= got["area"] and not got["scrolled"], got
    assert options["view"] <= options["area"] and not options["scrolled"], options
    console_log.assert_clean()
