"""CamViewer in a real browser (notebooks/cam_viewer.ipynb): JupyterLab and Voila.

What the browser draws is read back from the three canvases (getImageData) and checked
against the arrays the Python side composited (`v.snapshot()`, fetched from the kernel),
and, for the first view, against the same viewer built headless in this process.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import BrowserContext, Locator, Page

from harness import (VOILA_TIMEOUT, ConsoleLog, Scope, Server, Shots, dropdown, kernel_array,
                     kernel_exec, open_notebook, open_voila, output_of, press_slider,
                     reload_notebook, run_all_cells, select_dropdown, set_slider, slider,
                     slider_value, stage_notebook, wait_for_canvases, wait_for_pixels)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_viewer.ipynb"
SEED = 3  # as in the notebook
PANELS = ("image", "heatmap", "overlay")
GUIDED = "guided ReLU"
LAYER = "layer"
OPACITY = "opacity"


@pytest.fixture(scope="module")
def headless_view() -> np.ndarray:
    """The notebook's first view, computed here (no browser, no kernel): the pixels to expect."""
    from cam_widgets import CamViewer
    from cam_widgets.datasets import CLASS_NAMES, make_shapes, shapes_model

    viewer = CamViewer(shapes_model(), class_names=CLASS_NAMES)
    viewer.show(make_shapes(1, seed=SEED).images[0])
    return viewer.panels()


# --------------------------------------------------------------------------- helpers


def split(view: np.ndarray) -> dict[str, np.ndarray]:
    """image | heatmap | overlay, side by side -> one (H, W, 4) array per panel."""
    return dict(zip(PANELS, np.split(view, 3, axis=1)))


def blend_error(view: np.ndarray, opacity: float) -> float:
    """Largest distance of the overlay from (1 - a) * image + a * heatmap, computed from
    the image and heatmap panels of ``view`` (as read back from the canvases)."""
    p = {k: v[..., :3].astype(np.float64) for k, v in split(view).items()}
    opacity = round(opacity * 255) / 255  # a canvas keeps its global alpha in 8 bits
    return float(np.abs(p["overlay"] - (1 - opacity) * p["image"] - opacity * p["heatmap"]).max())


def assert_blend(view: np.ndarray, opacity: float) -> None:
    """The overlay is the blend at ``opacity`` within one level, and every panel is opaque."""
    err = blend_error(view, opacity)
    # the browser composes with 8-bit alpha and premultiplied rounding: 1.5 levels at most
    assert err <= 1.5, f"overlay off the blend at opacity {opacity} by up to {err:.2f}"
    assert (view[..., 3] == 255).all(), "a panel is not opaque"


def changed(before: np.ndarray, after: np.ndarray, panel: str) -> int:
    """How many pixels of ``panel`` differ between two views."""
    return int(np.count_nonzero((split(before)[panel] != split(after)[panel]).any(-1)))


def kernel_value(page: Page, expr: str) -> str:
    return kernel_exec(page, f"print(repr({expr}))").strip()


def wait_kernel_sees(page: Page, expr: str, expected: object, timeout: float = 10) -> None:
    """Wait until ``expr`` in the kernel is ``expected``: ipywidgets holds back a model's
    update while an earlier one is unanswered, so a quick burst of key presses can reach
    the kernel after the next `kernel_exec` (which would then snapshot an older state)."""
    deadline = time.monotonic() + timeout
    while (got := kernel_value(page, expr)) != repr(expected):
        if time.monotonic() > deadline:
            raise AssertionError(f"kernel has {expr} = {got}, wanted {expected!r}")
        time.sleep(0.05)


def same_view(expected: np.ndarray):
    """A predicate: image and heatmap exactly as `expected`, the overlay (which the
    browser composes from them, with its own rounding) within two levels of it."""
    def check(pixels: np.ndarray) -> bool:
        if pixels.shape != expected.shape:
            check.last = f"shape {pixels.shape} != {expected.shape}"
            return False
        got, want = split(pixels), split(expected)
        diff = {k: int(np.abs(got[k].astype(int) - want[k]).max()) for k in PANELS}
        check.last = f"largest difference per panel {diff}"
        return diff["image"] == diff["heatmap"] == 0 and diff["overlay"] <= 2
    check.last = ""
    return check


def drawn_as_snapshot(page: Page, canvases: Locator) -> np.ndarray:
    """The kernel's panels (waiting for any computation), once the browser's canvases
    show them; returns what the browser drew."""
    panels = kernel_array(page, "v.panels()")
    assert panels.shape == (64, 64 * 3, 4) and panels.dtype == np.uint8
    assert (panels[..., 3] == 255).all(), "the viewer composited a translucent pixel"
    return wait_for_pixels(canvases, same_view(panels))


def checkbox(scope: Scope, label: str) -> Locator:
    """The <input> of an ipywidgets Checkbox found by its description."""
    return scope.locator(".widget-checkbox", has_text=label).locator("input[type=checkbox]")


# --------------------------------------------------------------------------- JupyterLab


def test_lab_viewer_pixels_controls_and_reload(page: Page, lab: Server, headless_view: np.ndarray,
                                               test_name: str, shots: Shots,
                                               console_log: ConsoleLog) -> None:
    open_notebook(page, lab, stage_notebook(NOTEBOOK, lab, test_name))
    run_all_cells(page)
    widget = output_of(page, 1)
    canvases = wait_for_canvases(widget, 3)

    # first view: browser == kernel's snapshot == the same viewer computed in this process
    view = drawn_as_snapshot(page, canvases)
    assert same_view(headless_view)(view)
    assert_blend(view, 0.5)
    shots.take(page, "first-view", show=canvases.first)

    # opacity by keyboard: only the overlay repaints, by the blend formula
    set_slider(widget, OPACITY, 0.8)
    wait_kernel_sees(page, "v.settings.opacity", 0.8)
    before, view = view, drawn_as_snapshot(page, canvases)
    assert changed(before, view, "overlay") > 1000
    assert changed(before, view, "heatmap") == changed(before, view, "image") == 0
    assert_blend(view, 0.8)
    press_slider(widget, OPACITY, "Home")  # opacity 0: the image shows through
    wait_kernel_sees(page, "v.settings.opacity", 0.0)
    view = drawn_as_snapshot(page, canvases)
    np.testing.assert_array_equal(split(view)["overlay"], split(view)["image"])
    set_slider(widget, OPACITY, 0.6)
    wait_kernel_sees(page, "v.settings.opacity", 0.6)
    view = drawn_as_snapshot(page, canvases)
    assert_blend(view, 0.6)
    shots.take(page, "opacity-0.6", show=canvases.first)

    # class: typed into the class picker, the heatmap is recomputed for "triangle"
    assert kernel_value(page, "v.settings.target") == "0"
    picker = widget.locator(".widget-text input[list]")
    picker.fill("triangle (2)")
    picker.press("Enter")
    wait_kernel_sees(page, "v.settings.target", 2)
    before, view = view, drawn_as_snapshot(page, canvases)
    assert changed(before, view, "heatmap") > 1000 and changed(before, view, "image") == 0
    assert_blend(view, 0.6)
    assert "triangle</b> (class 2)" in kernel_value(page, "v.parts.class_label.value")
    expect_text = widget.locator(".widget-html", has_text="explaining triangle (class 2)")
    expect_text.first.wait_for()
    shots.take(page, "class-triangle", show=canvases.first)

    # layer through its dropdown, then through the depth slider (the dropdown follows)
    select_dropdown(widget, LAYER, "conv2_relu · 32×32")
    wait_kernel_sees(page, "v.settings.layer", "conv2_relu")
    before, view = view, drawn_as_snapshot(page, canvases)
    assert changed(before, view, "heatmap") > 1000 and changed(before, view, "image") == 0
    assert_blend(view, 0.6)
    shots.take(page, "layer-conv2", show=canvases.first)
    set_slider(widget, "depth", 4)  # conv3_relu, in the main layers' menu
    wait_kernel_sees(page, "v.settings.layer", "conv3_relu")
    before, view = view, drawn_as_snapshot(page, canvases)
    assert changed(before, view, "heatmap") > 1000
    shown = dropdown(widget, LAYER).evaluate("s => s.options[s.selectedIndex].text")
    assert shown.replace("\xa0", " ") == "conv3_relu · 16×16"  # spaces come as nbsp
    assert picker.input_value() == "triangle (2)"  # the class stays
    shots.take(page, "depth-conv3", show=canvases.first)

    # guided ReLU on
    checkbox(widget, GUIDED).check()
    wait_kernel_sees(page, "v.settings.guided", True)
    before, view = view, drawn_as_snapshot(page, canvases)
    assert changed(before, view, "heatmap") > 1000 and changed(before, view, "image") == 0
    assert_blend(view, 0.6)
    assert "guided ReLU" in kernel_value(page, "v.parts.status.value")
    shots.take(page, "guided", show=canvases.first)

    # reload: a new browser connection, redrawn by on_client_ready with the state kept.
    # The canvases report ready in creation order, image first; ipycanvas' manager last drew
    # on the overlay, so it would send the image a "switchCanvas" anyway. Make the image its
    # last canvas (a harmless save/restore on it) to check the transport's guard for
    # ipycanvas #322: without it the page throws and stays blank.
    kernel_exec(page, 'v.parts.canvases["image"].save(); v.parts.canvases["image"].restore()')
    reload_notebook(page)
    widget = output_of(page, 1)
    canvases = wait_for_canvases(widget, 3)
    wait_for_pixels(canvases, same_view(view))
    assert checkbox(widget, GUIDED).is_checked()
    assert slider_value(slider(widget, OPACITY)) == pytest.approx(0.6)
    shots.take(page, "reloaded", show=canvases.first)
    # and the reloaded page still drives the viewer
    set_slider(widget, OPACITY, 1.0)
    wait_kernel_sees(page, "v.settings.opacity", 1.0)
    view = drawn_as_snapshot(page, canvases)
    np.testing.assert_array_equal(split(view)["overlay"], split(view)["heatmap"])
    shots.take(page, "reloaded-opacity-1", show=canvases.first)
    console_log.assert_clean()


# --------------------------------------------------------------------------- Voila


def test_voila_viewer_on_two_pages(page: Page, context: BrowserContext, voila_server: Server,
                                   headless_view: np.ndarray, test_name: str, shots: Shots,
                                   console_log: ConsoleLog) -> None:
    path = stage_notebook(NOTEBOOK, voila_server, test_name)
    # Every Voila page runs the notebook in a kernel of its own and connects its widgets
    # once the kernel is done, so both pages rely on on_client_ready to draw. The second
    # page starts loading at once (its kernel starting alongside the first: ~6 s saved).
    second = context.new_page()
    second.goto(f"{voila_server.url}/voila/render/{path}", wait_until="commit",
                timeout=VOILA_TIMEOUT * 1000)
    open_voila(page, voila_server, path)
    first = wait_for_canvases(page, 3)
    wait_for_pixels(first, same_view(headless_view))
    shots.take(page, "first-page", show=first.first)

    canvases = wait_for_canvases(second, 3, timeout=45)
    wait_for_pixels(canvases, same_view(headless_view))
    shots.take(second, "second-page", show=canvases.first)

    set_slider(second, OPACITY, 0.9)  # no kernel access here: wait for the blend
    view = wait_for_pixels(canvases, lambda px: blend_error(px, 0.9) <= 1.5)
    assert changed(headless_view, view, "heatmap") == changed(headless_view, view, "image") == 0
    assert changed(headless_view, view, "overlay") > 1000
    assert_blend(view, 0.9)
    wait_for_pixels(first, same_view(headless_view))  # the first page's is another kernel's
    shots.take(second, "second-page-opacity-0.9", show=canvases.first)
    console_log.assert_clean()
