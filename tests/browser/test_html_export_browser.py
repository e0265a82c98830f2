"""The exported HTML pages (`CamViewer.to_html`, `CamGallery.to_html`) in Chromium, opened
from file:// with every network request aborted: a class button changes the picture, the
opacity slider changes the overlay, and the dark colour scheme is applied (screenshots in
tests/browser/artifacts/<test>/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import REPO, Shots
from playwright.sync_api import Browser, BrowserContext, Route

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Written in a fresh interpreter: while Playwright runs, asyncio sees a running loop in
# this one, and the viewer would schedule its work as in a notebook.
_WRITE = """
import sys
from cam_widgets import CamGallery, CamViewer, explain
from cam_widgets.datasets import CLASS_NAMES, make_shapes, shapes_model
model, data = shapes_model(), make_shapes(6, seed=2)
viewer = CamViewer(model, class_names=list(CLASS_NAMES), prefetch=False)
viewer.show(data.images[0])
viewer.to_html(sys.argv[1], classes=4, title="Shapes <lesson> & co")
labels = data.labels.copy()
labels[1] = (labels[1] + 1) % 4  # one image labelled wrong
CamGallery(explain(model, data.images), images=data.images, labels=labels,
           class_names=list(CLASS_NAMES)).to_html(sys.argv[2])
# a notebook as saved with widget state on, exported for offline reading
from cam_widgets.export.notebook import notebook_to_html
from tests.helpers import write_saved_notebook
write_saved_notebook(viewer, sys.argv[3])
notebook_to_html(sys.argv[3], sys.argv[4])
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("export")
    viewer, gallery = folder / "viewer.html", folder / "gallery.html"
    notebook = folder / "notebook.html"
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, "-c", _WRITE, str(viewer), str(gallery),
                    str(folder / "lesson.ipynb"), str(notebook)], check=True,
                   env=env, timeout=300, cwd=folder)
    return viewer, gallery, notebook


def _offline(browser: Browser, scheme: str) -> tuple[BrowserContext, list[str]]:
    """A context that aborts every request that is not the file itself or a data URI."""
    context = browser.new_context(viewport={"width": 1100, "height": 900},
                                  color_scheme=scheme)
    context.set_default_timeout(10_000)
    asked: list[str] = []

    def route(r: Route) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            asked.append(url)
            r.abort()

    context.route("**/*", route)
    context.on("request", lambda request: asked.append(request.url)
               if not request.url.startswith(("file:", "data:")) else None)
    return context, asked


def test_viewer_page_switches_class_and_opacity_offline(browser: Browser, pages, shots: Shots):
    context, asked = _offline(browser, "light")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(pages[0].as_uri())
    heat = page.locator("#cw-heat")
    first = heat.get_attribute("src")
    assert first.startswith("data:image/png;base64,")
    assert page.locator("#cw-captions").inner_text().strip()
    assert page.title() == "Shapes <lesson> & co"
    shots.take(page, "light")
    pressed = page.locator('.cw-class[aria-pressed="true"]')
    assert pressed.count() == 1
    cls = page.locator('.cw-class[aria-pressed="false"]').first.get_attribute("data-cls")
    other = page.locator(f'.cw-class[data-cls="{cls}"]')
    other.click()
    assert heat.get_attribute("src") != first
    assert other.get_attribute("aria-pressed") == "true"
    overlay = page.locator("#cw-overlay-heat")
    before = overlay.evaluate("el => getComputedStyle(el).opacity")
    page.locator("#cw-opacity").fill("0.9")
    assert before == "0.5" and overlay.evaluate("el => getComputedStyle(el).opacity") == "0.9"
    layer = page.locator("#cw-layer")
    options = layer.locator("option").all_inner_texts()
    assert len(options) == 6
    shown = heat.get_attribute("src")
    layer.select_option(index=0)
    assert heat.get_attribute("src") != shown
    shots.take(page, "other-class-layer-opacity")
    assert not errors and not asked
    context.close()


def test_viewer_and_gallery_pages_follow_the_dark_scheme(browser: Browser, pages, shots: Shots):
    context, asked = _offline(browser, "dark")
    page = context.new_page()
    for path in pages[:2]:
        page.goto(path.as_uri())
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(17, 20, 24)"  # --bg of the dark scheme
        shots.take(page, f"dark-{path.stem}")
    assert page.locator("figure").count() == 6
    page.locator("#cw-wrong-only").check()
    assert page.locator("figure:visible").count() == 1
    assert "wrong" in page.locator("figure:visible figcaption").inner_text()
    shots.take(page, "dark-gallery-wrong-only")
    assert not asked
    context.close()


def test_a_saved_notebook_exported_for_offline_shows_the_view(browser: Browser, pages,
                                                              shots: Shots):
    context, asked = _offline(browser, "light")
    page = context.new_page()
    page.goto(pages[2].as_uri())
    picture = page.locator('.jp-OutputArea-output img[src^="data:image/png"]')
    picture.wait_for()
    width = picture.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 300  # the captioned figure: three panels side by side
    shots.take(page, "notebook-offline", show=picture)
    assert all("cdn" in url or "unpkg" in url or "cloudflare" in url for url in asked)
    context.close()
