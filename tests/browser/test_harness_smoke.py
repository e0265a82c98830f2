"""The browser harness on a plain ipycanvas notebook (notebooks/smoke_canvas.ipynb)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import BrowserContext, Page

from harness import (CANVAS, ConsoleLog, Server, Shots, click_toggle, kernel_array,
                     open_notebook, open_voila, output_of, reload_notebook, run_all_cells,
                     select_dropdown, set_slider, slider, slider_value, stage_notebook,
                     wait_for_canvases, wait_for_pixels)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

H, W = 48, 64


def pattern(shift: int = 0, gain: float = 1.0, zero: str = "none",
            invert: bool = False) -> np.ndarray:
    """The notebook's pattern, written out again so the test does not trust its copy."""
    y, x = np.mgrid[0:H, 0:W]
    rgba = np.empty((H, W, 4), np.uint8)
    rgba[..., 0] = (x * 4 + shift * 10) % 256
    rgba[..., 1] = (y * 5) * round(gain * 10) // 10
    rgba[..., 2] = ((x + y) * 3 + shift * 37) % 256
    rgba[..., 3] = 255
    if zero != "none":
        rgba[..., "rgb".index(zero)] = 0
    if invert:
        rgba[..., :3] = 255 - rgba[..., :3]
    return rgba


def test_lab_canvas_controls_and_reload(page: Page, lab: Server, smoke_notebook: Path,
                                        test_name: str, shots: Shots,
                                        console_log: ConsoleLog) -> None:
    open_notebook(page, lab, stage_notebook(smoke_notebook, lab, test_name))
    run_all_cells(page)
    widget = output_of(page, 1)  # controls and canvases looked up inside this output only
    canvas = wait_for_canvases(widget, 1).first
    wait_for_pixels(canvas, pattern())
    shots.take(page, "drawn", show=canvas)

    set_slider(widget, "Shift", 7)
    wait_for_pixels(canvas, pattern(shift=7))
    set_slider(widget, "Shift", 3)
    set_slider(widget, "Gain", 0.4)
    wait_for_pixels(canvas, pattern(shift=3, gain=0.4))
    shots.take(page, "sliders")

    select_dropdown(widget, "Zero", "g")
    assert click_toggle(widget, "Invert") is True
    expected = pattern(shift=3, gain=0.4, zero="g", invert=True)
    wait_for_pixels(canvas, expected)
    # what CamViewer tests will do with viewer.snapshot(): the kernel's array, as drawn
    in_kernel = kernel_array(page, "pattern(shift.value, gain.value, zero.value, invert.value)")
    np.testing.assert_array_equal(in_kernel, expected)
    shots.take(page, "dropdown-toggle")

    reload_notebook(page)
    canvas = wait_for_canvases(page, 1).first
    wait_for_pixels(canvas, expected)  # redrawn by on_client_ready, state kept
    assert slider_value(slider(page, "Shift")) == 3
    shots.take(page, "reloaded", show=canvas)
    console_log.assert_clean()


def test_voila_canvas_on_two_pages(page: Page, context: BrowserContext, voila_server: Server,
                                   smoke_notebook: Path, test_name: str, shots: Shots,
                                   console_log: ConsoleLog) -> None:
    path = stage_notebook(smoke_notebook, voila_server, test_name)
    open_voila(page, voila_server, path)
    wait_for_pixels(wait_for_canvases(page, 1).first, pattern())
    shots.take(page, "first-page")

    second = context.new_page()
    open_voila(second, voila_server, path)
    canvas = wait_for_canvases(second, 1).first
    wait_for_pixels(canvas, pattern())
    set_slider(second, "Shift", 20)
    wait_for_pixels(canvas, pattern(shift=20))
    wait_for_pixels(page.locator(CANVAS), pattern())  # each Voila page has its own kernel
    shots.take(second, "second-page")
    console_log.assert_clean()
