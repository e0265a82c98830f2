"""Fixtures for real-browser tests: JupyterLab, Notebook 7, Voila and headless Chromium.

Servers and the browser are started once per session and only when a test asks for them;
every test gets a fresh browser context, a console-error log and a screenshot folder
(tests/browser/artifacts/<test-name>/). A failing test also leaves a screenshot of each
open page there, and the servers' logs are copied to artifacts/_servers/ at the end.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from harness import (CHROMIUM, CHROMIUM_ARGS, ConsoleLog, Server, Shots, jupyter_env,
                     lab_argv, notebook_argv, shutdown_kernels, start_server, stop_server,
                     voila_argv)

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
NOTEBOOKS = HERE / "notebooks"
collect_ignore_glob = ["notebooks/*"]  # fixtures for the browser, not nbval tests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"report_{report.when}", report)  # read by the context fixture
    return report


@pytest.fixture(scope="session")
def jupyter_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jupyter")


@pytest.fixture(scope="session")
def jupyter_vars(jupyter_base: Path) -> dict[str, str]:
    return jupyter_env(jupyter_base / "home")


def _serve(name: str, argv: Callable[[int, Path], list[str]], env: dict[str, str], base: Path,
           ready: str) -> Iterator[Server]:
    root, log = base / f"{name}-root", base / f"{name}.log"
    root.mkdir()
    server = start_server(name, argv, env, root, log, ready)
    try:
        yield server
    finally:
        stop_server(server)
        (ARTIFACTS / "_servers").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / "_servers" / log.name)


@pytest.fixture(scope="session")
def lab_server(jupyter_vars: dict[str, str], jupyter_base: Path) -> Iterator[Server]:
    yield from _serve("lab", lab_argv, jupyter_vars, jupyter_base, "/api/status")


@pytest.fixture(scope="session")
def notebook_server(jupyter_vars: dict[str, str], jupyter_base: Path) -> Iterator[Server]:
    yield from _serve("notebook", notebook_argv, jupyter_vars, jupyter_base, "/api/status")


@pytest.fixture(scope="session")
def voila_server(jupyter_vars: dict[str, str], jupyter_base: Path) -> Iterator[Server]:
    yield from _serve("voila", voila_argv, jupyter_vars, jupyter_base, "/")


@pytest.fixture
def lab(lab_server: Server) -> Iterator[Server]:
    """The Lab server, with every kernel this test started shut down afterwards."""
    yield lab_server
    shutdown_kernels(lab_server)


@pytest.fixture
def notebook(notebook_server: Server) -> Iterator[Server]:
    """The Notebook 7 server, with every kernel this test started shut down afterwards."""
    yield notebook_server
    shutdown_kernels(notebook_server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: while Playwright's sync API is open, asyncio sees a
    # running loop in the main thread, and later tests (the viewer's scheduler picks
    # its mode by that) would think they run inside a notebook.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def test_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)


@pytest.fixture
def shots(test_name: str) -> Shots:
    folder = ARTIFACTS / test_name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


@pytest.fixture
def console_log() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def context(browser: Browser, console_log: ConsoleLog, shots: Shots,
            request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  device_scale_factor=1)
    context.set_default_timeout(15_000)
    console_log.attach(context)
    # a notebook with unsaved outputs asks before unload: say yes, reloads must not hang
    context.on("page", lambda p: p.on(
        "dialog", lambda d: d.accept() if d.type == "beforeunload" else d.dismiss()))
    yield context
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for page in context.pages:
            try:
                shots.take(page, "failure")
            except Exception:  # a crashed page must not hide the test's own failure
                pass
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def smoke_notebook() -> Path:
    return NOTEBOOKS / "smoke_canvas.ipynb"
