"""CamViewer's page after an error, in JupyterLab (1100x900, file browser open, dark
theme): the colour bar keeps its picture (no broken-image icon) and the layer menu keeps
a value; a refused option value and an unknown typed class are said beside their
control. Screenshots in tests/browser/artifacts/<test>/."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import (ConsoleLog, Server, Shots, dropdown, kernel_exec, open_notebook,
                     output_of, run_all_cells, stage_notebook, wait_for_canvases)
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_viewer.ipynb"

#: the colour bar <img> under the heatmap: loaded (a picture, not a broken icon) or not
BAR_LOADED = "img => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0"


def test_an_error_keeps_the_colour_bar_and_the_layer_menu_and_says_why_beside_controls(
        page: Page, lab: Server, test_name: str, shots: Shots,
        console_log: ConsoleLog) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})
    path = stage_notebook(NOTEBOOK, lab, test_name)
    open_notebook(page, lab, path)
    assert page.locator(".jp-FileBrowser").is_visible(), "the file browser should be open"
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    run_all_cells(page)
    widget = output_of(page, 1)
    canvases = wait_for_canvases(widget, 3)
    bar = widget.locator(".cam-widgets-panel img")
    page.wait_for_function("img => img.naturalWidth > 100", arg=bar.element_handle())
    layer = dropdown(widget, "layer")
    before = layer.input_value()
    assert before, "the layer menu shows the explained layer"
    shots.take(page, "before-the-error", show=canvases.first)

    # an error: a layer set from code that the model does not have
    kernel_exec(page, "v.layer = 'nope'; v.flush()")
    error = widget.locator(".cam-widgets-error", has_text="No layer 'nope'")
    error.wait_for(timeout=10_000)
    status = widget.locator(".widget-html", has_text="change a control to retry")
    status.first.wait_for(timeout=5_000)
    page.wait_for_function(BAR_LOADED, arg=bar.element_handle(), timeout=5_000)
    page.wait_for_function("select => select.value !== ''", arg=layer.element_handle(),
                           timeout=5_000)
    shown = layer.evaluate("s => s.options[s.selectedIndex].textContent")
    assert shown.replace("\xa0", " ") == "nope · set from code", shown  # ipywidgets: nbsp
    shots.take(page, "after-the-error", show=canvases.first)

    # a real layer from the menu recovers: the error goes, the bar is still a picture
    layer.select_option(value=layer.evaluate("s => s.options[0].value"))
    error.wait_for(state="detached", timeout=30_000)
    page.wait_for_function(BAR_LOADED, arg=bar.element_handle(), timeout=5_000)
    shots.take(page, "recovered", show=canvases.first)

    # a refused option value: said beside its box, the box keeps what was typed
    kernel_exec(page, "v.method = 'smoothgrad'; v.flush()")
    n_samples = widget.locator(".widget-text", has_text="n_samples").locator("input")
    n_samples.wait_for()
    n_samples.fill("-3")
    n_samples.press("Enter")
    refused = widget.locator(".cam-widgets-error",
                             has_text="Option 'n_samples' of 'smoothgrad' must be int in "
                                      "[1, 10000]; got -3.")
    refused.wait_for(timeout=10_000)
    assert n_samples.input_value() == "-3"
    assert kernel_exec(page, "print(v.options)").strip() == "{}"
    shots.take(page, "refused-option", show=n_samples)

    # an unknown class typed in the picker: said beside it, the class stays
    picker = widget.locator("input[list]")  # the Combobox: a text input with a datalist
    picker.fill("crcle")
    picker.press("Enter")
    unknown = widget.locator(".cam-widgets-error", has_text="no class 'crcle'")
    unknown.wait_for(timeout=10_000)
    assert "Did you mean 'circle'?" in unknown.inner_text()
    assert kernel_exec(page, "print(v.target)").strip() == "0"
    shots.take(page, "unknown-class", show=unknown)
    console_log.assert_clean()
