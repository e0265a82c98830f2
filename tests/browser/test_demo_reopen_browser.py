"""`make demo`'s JupyterLab saves widget state through its own settings: a notebook run
there, saved, and reopened after its kernel is gone draws the viewer again (no "model
not found"). The Jupyter dirs of this test hold no widget setting of their own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from harness import (REPO, Server, Shots, free_port, jupyter_env, open_notebook, output_of,
                     run_all_cells, save_notebook, wait_for_canvases)
from playwright.sync_api import Browser

from tests.helpers import stop_group

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "notebooks" / "cam_viewer.ipynb"


@pytest.fixture
def demo(tmp_path: Path):
    """scripts/demo.sh serving `tmp_path` (so the notebook run is a copy), with the
    test's Jupyter dirs, minus the harness's own "save widget state" setting."""
    env = jupyter_env(tmp_path / "home")
    own = (Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyter-widgets")
    shutil.rmtree(own)  # the setting must come from the demo, not from this test
    (Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.py").write_text(
        "c.LabApp.expose_app_in_browser = True\n")  # window.jupyterapp, for the harness
    port = free_port()
    env.update(BIN=str(Path(sys.executable).parent), PORT=str(port))
    env.pop("JUPYTER_TOKEN", None)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copyfile(NOTEBOOK, root / "lesson.ipynb")
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(["bash", str(REPO / "scripts" / "demo.sh"), "lesson.ipynb"],
                            cwd=root, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=log.open("w"), stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        token = None
        for line in proc.stdout:
            match = re.search(r"\?token=([A-Za-z0-9_-]{32,})", line)
            if match:
                token = match.group(1)
                break
        assert token, "the demo printed no token"
        yield Server("demo", f"http://127.0.0.1:{port}", root, proc, log), token
    finally:
        stop_group(proc)


def _call(server: Server, token: str, method: str, path: str) -> bytes:
    request = urllib.request.Request(server.url + path, method=method,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def test_a_demo_notebook_reopened_without_its_kernel_shows_the_view(
        browser: Browser, demo, shots: Shots) -> None:
    import json

    server, token = demo
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    deadline = time.monotonic() + 60
    while True:  # log in with the token (a cookie), once the server answers
        try:
            _call(server, token, "GET", "/api/status")
            break
        except OSError:
            assert time.monotonic() < deadline, "the demo's JupyterLab did not start"
            time.sleep(0.5)
    page.goto(f"{server.url}/lab?token={token}")
    open_notebook(page, server, "lesson.ipynb")
    run_all_cells(page)
    output = output_of(page, 1)
    wait_for_canvases(output, 3)
    # "Save HTML", beside "Download PNG": the page is written beside the notebook
    button = output.get_by_role("button", name="Save HTML")
    button.scroll_into_view_if_needed()
    button.click()
    output.locator("text=saved ").wait_for(timeout=120_000)
    page_html = (server.root / "cam_view.html").read_text("utf-8")
    assert page_html.count('class="cw-map"') == 4 * 6  # 4 classes x the menu's 6 layers
    shots.take(page, "saved-html", show=button)
    time.sleep(1.0)  # the saved picture's refresh reaches the page
    save_notebook(page)
    saved = json.loads((server.root / "lesson.ipynb").read_text())
    assert saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    for session in json.loads(_call(server, token, "GET", "/api/sessions")):
        _call(server, token, "DELETE", f"/api/sessions/{session['id']}")
    page.reload()
    page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.context?.path "
                           "!== undefined", timeout=30_000)
    canvases = wait_for_canvases(output_of(page, 1), 3)
    assert page.locator("text=model not found").count() == 0
    shots.take(page, "reopened-without-its-kernel", show=canvases.first)
    context.close()
