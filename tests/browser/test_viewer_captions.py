"""The viewer's panel captions and colour bar in JupyterLab (1100x900, file browser open):
the three captions sit on one line, equal in top and height, also with guided ReLU on;
the colour bar's values are written on the page's own background, in the light and the
dark theme. Screenshots in tests/browser/artifacts/<test>/."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from harness import (Server, Shots, kernel_exec, open_notebook, output_of, run_all_cells,
                     stage_notebook, wait_for_canvases)
from PIL import Image
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_viewer.ipynb"

#: the top and height (CSS px) of each panel caption, in page order
CAPTIONS = """el => [...el.querySelectorAll('.cam-widgets-panel-caption')].map(node => {
    const box = node.getBoundingClientRect();
    return [node.textContent.trim(), Math.round(box.top * 10) / 10,
            Math.round(box.height * 10) / 10];
})"""

#: the colour (r, g, b) the page paints behind the colour bar's values
BACKGROUND = """el => {
    for (let node = el.querySelector('.cam-widgets-bar-labels'); node; node = node.parentElement) {
        const c = (getComputedStyle(node).backgroundColor.match(/[\\d.]+/g) || []).map(Number);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
}"""


def _commonest(pixels: np.ndarray) -> tuple[int, ...]:
    colours, counts = np.unique(pixels[..., :3].reshape(-1, 3), axis=0, return_counts=True)
    return tuple(int(v) for v in colours[np.argmax(counts)])


def _check(page: Page, shots: Shots, name: str) -> None:
    widget = output_of(page, 1)
    captions = widget.evaluate(CAPTIONS)
    assert [text for text, _, _ in captions] == ["image", "heatmap", "overlay"], captions
    tops = [top for _, top, _ in captions]
    assert max(tops) - min(tops) <= 0.5, captions  # one line (within a device pixel)
    assert len({height for _, _, height in captions}) == 1, captions
    labels = widget.locator(".cam-widgets-bar-labels")
    assert len(labels.inner_text().split()) == 3, labels.inner_text()
    shot = np.asarray(Image.open(io.BytesIO(labels.screenshot())).convert("RGB"))
    Image.fromarray(shot).save(shots.folder / f"bar-labels-{name}.png")
    page_colour = tuple(widget.evaluate(BACKGROUND))
    # most of the strip is background (the rest: the three values' glyphs)
    assert np.abs(np.subtract(_commonest(shot), page_colour)).max() <= 2, (
        _commonest(shot), page_colour)
    assert (np.abs(shot.astype(int) - page_colour).max(axis=-1) <= 2).mean() > 0.6
    shots.take(page, name, show=widget.locator("canvas").first)


def test_captions_align_and_the_colour_bar_sits_on_the_page_in_both_themes(
        page: Page, lab: Server, test_name: str, shots: Shots) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})
    path = stage_notebook(NOTEBOOK, lab, test_name)
    open_notebook(page, lab, path)
    assert page.locator(".jp-FileBrowser").is_visible(), "the file browser should be open"
    run_all_cells(page)
    wait_for_canvases(output_of(page, 1), 3)
    output_of(page, 1).locator(".cam-widgets-bar-labels span").first.wait_for(timeout=30_000)
    _check(page, shots, "light")
    canvas = output_of(page, 1).locator("canvas").first
    top = canvas.bounding_box()["y"]
    kernel_exec(page, "v.guided = True; v.flush()")  # a two-line map caption
    output_of(page, 1).get_by_text("with guided ReLU the map is signed").wait_for()
    time.sleep(0.5)
    _check(page, shots, "light-guided")
    assert canvas.bounding_box()["y"] == top  # the longer caption moved no panel
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    time.sleep(0.5)
    _check(page, shots, "dark-guided")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Light'})")
