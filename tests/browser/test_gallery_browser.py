"""CamGallery in JupyterLab: the grid drawn is the kernel's sheet, and clicking a
thumbnail opens that image in the CamViewer beside the grid."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

from harness import (CANVAS, ConsoleLog, Server, Shots, canvas_pixels, kernel_array,
                     kernel_exec, open_notebook, output_of, run_all_cells, stage_notebook,
                     wait_for_canvases, wait_for_pixels)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_gallery.ipynb"


def test_lab_gallery_click_opens_the_viewer(page: Page, lab: Server, test_name: str,
                                            shots: Shots, console_log: ConsoleLog) -> None:
    from cam_widgets.gallery.compose import Layout
    from cam_widgets.render import to_rgb8

    open_notebook(page, lab, stage_notebook(NOTEBOOK, lab, test_name))
    run_all_cells(page)
    widget = output_of(page, 0)
    grid = wait_for_canvases(widget, 1)
    wait_for_pixels(grid, kernel_array(page, "g.sheet"))
    shots.take(page, "grid", show=grid)

    layout = Layout(columns=4, cell=48)
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
