"""CamViewer on a segmentation model in a real browser: a rectangle dragged on the image
canvas explains that region only (the heatmap changes, the overlay shows the outline),
and a click returns to the class's predicted region."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

from harness import (ConsoleLog, Server, Shots, kernel_array, kernel_exec, open_notebook,
                     output_of, run_all_cells, stage_notebook, wait_for_canvases,
                     wait_for_pixels)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_segmentation.ipynb"


def split(view: np.ndarray) -> list[np.ndarray]:
    return np.split(view, 3, axis=1)


def kernel_view(page: Page):
    """A predicate: the canvases show the kernel's panels (image and heatmap exactly,
    the overlay, which the browser composes, within two levels)."""
    expected = kernel_array(page, "v.panels()")

    def check(pixels: np.ndarray) -> bool:
        if pixels.shape != expected.shape:
            return False
        diff = [int(np.abs(g.astype(int) - w).max()) for g, w in zip(split(pixels),
                                                                      split(expected))]
        check.last = f"largest difference per panel {diff}"
        return diff[0] == diff[1] == 0 and diff[2] <= 2
    check.last = ""
    return check, expected


def wait_region(page: Page, want_none: bool, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        region = kernel_exec(page, "print(repr(v.region))").strip()
        if (region == "None") == want_none:
            return region
        if time.monotonic() > deadline:
            raise AssertionError(f"v.region stayed {region}")
        time.sleep(0.1)


def test_lab_drag_a_region_on_the_image(page: Page, lab: Server, test_name: str, shots: Shots,
                                        console_log: ConsoleLog) -> None:
    open_notebook(page, lab, stage_notebook(NOTEBOOK, lab, test_name))
    run_all_cells(page)
    widget = output_of(page, 1)
    canvases = wait_for_canvases(widget, 3)
    check, _ = kernel_view(page)
    first = wait_for_pixels(canvases, check)
    assert kernel_exec(page, "print(v.error)").strip() == "None"
    shots.take(page, "predicted-region", show=canvases.first)

    # drag over the image canvas, from a quarter to about two thirds of its size
    box = canvases.first.bounding_box()
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.25 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.65 * box["width"], box["y"] + 0.7 * box["height"], steps=6)
    page.mouse.up()
    region = eval(wait_region(page, want_none=False))  # a tuple of ints from the kernel
    x0, y0, x1, y1 = region
    # canvas pixels from CSS pixels: 64 canvas pixels across the box's width
    assert abs(x0 - 16) <= 1 and abs(y0 - 16) <= 1 and abs(x1 - 42) <= 2 and abs(y1 - 45) <= 2
    check, panels = kernel_view(page)
    dragged = wait_for_pixels(canvases, check)
    image, heat, overlay = split(dragged)
    assert (image == split(first)[0]).all()
    assert np.count_nonzero((heat != split(first)[1]).any(-1)) > 500  # a new map
    # the outline, drawn by the browser on the overlay: a dark ring, a light one inside
    assert (overlay[y0, x0:x1, :3] == 0).all() and (overlay[y0:y1, x1 - 1, :3] == 0).all()
    assert (overlay[y0 + 1, x0 + 1:x1 - 1, :3] == 255).all()
    np.testing.assert_array_equal(overlay[y0, x0:x1], split(panels)[2][y0, x0:x1])
    shots.take(page, "dragged-region", show=canvases.first)

    # a click without a drag: back to the predicted region (the first map, no outline)
    page.mouse.click(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"])
    wait_region(page, want_none=True)
    back = wait_for_pixels(canvases, kernel_view(page)[0])
    assert (split(back)[1] == split(first)[1]).all()
    shots.take(page, "clicked-back", show=canvases.first)

    # the same from code, then the button under the class picker takes it back
    kernel_exec(page, "v.region = (4, 8, 30, 40)")
    wait_for_pixels(canvases, kernel_view(page)[0])
    button = widget.locator("button", has_text="whole predicted region")
    shots.take(page, "region-from-code-and-button", show=button)
    button.click()
    wait_region(page, want_none=True)
    back = wait_for_pixels(canvases, kernel_view(page)[0])
    assert (split(back)[1] == split(first)[1]).all()
    console_log.assert_clean()
