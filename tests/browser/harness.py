"""Real-browser test harness: Jupyter servers, Chromium pages and widget helpers.

Servers run as subprocesses in their own process group, with every Jupyter path pointed
at a temp dir, and are stopped by PID. Page helpers take a ``scope`` (a Page or a Locator
such as one output area) so that tests of a notebook with several widgets can narrow down
what they look for. Nothing here sleeps for a fixed time: every wait polls a condition.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Route, expect

REPO = Path(__file__).resolve().parents[2]  # cam_widgets is imported from here
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CANVAS = ".jp-OutputArea-output canvas"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
#: JupyterLab extensions that Voila must not load (see jupyter_env)
VOILA_DENIED_EXTENSIONS = ["@jupyter-notebook/lab-extension"]
Scope = Page | Locator


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A running Jupyter or Voila server."""

    name: str
    url: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jupyter_env(base: Path) -> dict[str, str]:
    """Environment with config, data, runtime and IPython dirs under ``base``.

    The venv's share/jupyter (lab extensions of ipywidgets and ipycanvas, Voila's
    templates) stays on JUPYTER_PATH; a kernelspec for this very interpreter is written
    into the temp data dir, which is searched first.
    """
    dirs = {n: base / n.lower() for n in
            ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    user_settings = dirs["JUPYTER_CONFIG_DIR"] / "lab" / "user-settings" / "@jupyterlab"
    settings = {
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        # every cell in the DOM, whatever is scrolled into view
        "notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, value in settings.items():
        path = user_settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    # "Settings > Save Widget State Automatically": a saved notebook keeps its widgets'
    # state, so it shows them again without their kernel (off by default in JupyterLab)
    widgets_settings = (dirs["JUPYTER_CONFIG_DIR"] / "lab" / "user-settings" /
                        "@jupyter-widgets" / "jupyterlab-manager" / "plugin.jupyterlab-settings")
    widgets_settings.parent.mkdir(parents=True, exist_ok=True)
    widgets_settings.write_text(json.dumps({"saveState": True}))
    # Voila's pages load every federated JupyterLab extension found on JUPYTER_PATH.
    # Notebook 7's (@jupyter-notebook/lab-extension, installed with `notebook`) needs
    # shared modules that only Lab and Notebook provide (@jupyterlab/docregistry), so a
    # Voila page logs a module federation error (RUNTIME-012) for it. Voila reads
    # voila.json from the config dir; VoilaConfiguration is read by Voila only, so Lab
    # and Notebook 7 keep the extension.
    (dirs["JUPYTER_CONFIG_DIR"] / "voila.json").write_text(json.dumps({
        "VoilaConfiguration": {"extension_denylist": VOILA_DENIED_EXTENSIONS}}))
    kernel_dir = dirs["JUPYTER_DATA_DIR"] / "kernels" / "python3"
    kernel_dir.mkdir(parents=True, exist_ok=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    env.update({k: str(v) for k, v in dirs.items()})
    # JUPYTER_PATH is searched before anything else: our kernelspec first, then the venv
    env["JUPYTER_PATH"] = os.pathsep.join(
        [str(dirs["JUPYTER_DATA_DIR"]), str(Path(sys.prefix) / "share" / "jupyter")])
    # kernels run in the server's root (a temp dir), where a relative PYTHONPATH such as
    # `PYTHONPATH=.` no longer finds this repo: put the repo first and absolutise the rest
    paths = [str(REPO)] + [os.path.abspath(p) for p in
                           os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["PYTHONUNBUFFERED"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def lab_argv(port: int, root: Path) -> list[str]:
    return [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
            "--IdentityProvider.token=", "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",  # lets teardown DELETE kernels
            "--LabApp.expose_app_in_browser=True"]


def notebook_argv(port: int, root: Path) -> list[str]:
    """Jupyter Notebook 7 (the same notebook panel as JupyterLab, in a page of its own)."""
    return [sys.executable, "-m", "notebook", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
            "--IdentityProvider.token=", "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            "--JupyterNotebookApp.expose_app_in_browser=True"]


def voila_argv(port: int, root: Path) -> list[str]:
    return [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1",
            f"--Voila.port={port}", "--Voila.port_retries=0", "--Voila.token=",
            "--show_tracebacks=True", str(root)]


def start_server(name: str, argv: Callable[[int, Path], list[str]], env: dict[str, str],
                 root: Path, log: Path, ready_path: str, timeout: float = 60) -> Server:
    """Start a server on a free port and wait until ``ready_path`` answers 200.

    A port taken between picking and binding makes the server exit: then try another.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        port = free_port()
        with log.open("ab") as out:
            proc = subprocess.Popen(argv(port, root), env=env, cwd=root, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=_die_with_parent)
        server = Server(name, f"http://127.0.0.1:{port}", root, proc, log)
        if wait_http(server, ready_path, timeout):
            return server
        stop_server(server)
    raise RuntimeError(f"{name} did not start; log tail:\n{tail(log)}")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if pytest dies without tearing down (Linux prctl)."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_http(server: Server, path: str, timeout: float) -> bool:
    """Poll ``path`` until it answers 200 (True) or the process exits (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(server.url + path, timeout=5) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{server.name} not ready after {timeout}s; log:\n{tail(server.log)}")


def descendants(pid: int) -> list[int]:
    """PIDs of all live descendants of ``pid`` (kernels run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_server(server: Server, timeout: float = 10) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), then SIGKILL
    whatever is left of the group and of the server's descendants, by PID."""
    pids = descendants(server.proc.pid)
    pgid = server.proc.pid  # start_new_session: the server leads its own group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.proc.wait(timeout)


def tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def api(server: Server, method: str, path: str) -> object:
    """Call the Jupyter REST API (no token: the test servers run without auth)."""
    req = urllib.request.Request(server.url + path, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def shutdown_kernels(server: Server) -> None:
    kernels = api(server, "GET", "/api/kernels")
    assert isinstance(kernels, list)
    for kernel in kernels:
        api(server, "DELETE", f"/api/kernels/{kernel['id']}")


def stage_notebook(src: Path, server: Server, name: str) -> str:
    """Copy ``src`` into the server's root as ``name`` + .ipynb (a fresh file, and so a
    fresh kernel session, per test) and return its path relative to the root."""
    dest = server.root / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.ipynb"
    shutil.copyfile(src, dest)
    return dest.name


# --------------------------------------------------------------------------- pages


@dataclass
class ConsoleLog:
    """Console errors and uncaught page errors of every page in a browser context."""

    errors: list[str] = field(default_factory=list)
    ignore: list[re.Pattern[str]] = field(default_factory=list)
    external: list[str] = field(default_factory=list)  # stubbed off-machine requests

    def attach(self, context: BrowserContext) -> None:
        context.on("console", self._on_console)
        context.on("weberror", lambda e: self._add(f"pageerror: {e.error}"))
        # The machine is offline and the tests must not depend on a CDN (Voila's template
        # links Font Awesome from one): answer every off-machine request with an empty 200.
        context.route(lambda url: urlparse(url).hostname not in LOCAL_HOSTS, self._stub)

    def _stub(self, route: Route) -> None:
        self.external.append(route.request.url)
        route.fulfill(status=200, body="")

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "")
            self._add(f"console.error: {msg.text} ({where})")

    def _add(self, text: str) -> None:
        if not any(p.search(text) for p in self.ignore):
            self.errors.append(text)

    def assert_clean(self) -> None:
        assert not self.errors, "browser errors:\n" + "\n".join(self.errors)


@dataclass
class Shots:
    """Numbered screenshots of a test's steps: ``<folder>/NN-step.png``."""

    folder: Path
    count: int = 0

    def take(self, page: Page, step: str, show: Locator | None = None) -> Path:
        """Screenshot ``page``, first scrolling ``show`` (e.g. a canvas) into view."""
        if show is not None:
            show.scroll_into_view_if_needed()
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', step)}.png"
        page.screenshot(path=str(path))
        return path


def open_notebook(page: Page, server: Server, path: str, timeout: float = 30) -> None:
    """Open ``path`` (relative to the server root) in JupyterLab with a reset workspace,
    and wait until its kernel is connected and idle."""
    page.goto(f"{server.url}/lab/tree/{path}?reset", timeout=timeout * 1000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
    page.evaluate("() => window.jupyterapp.restored")
    page.wait_for_function(
        "path => window.jupyterapp.shell.currentWidget?.context?.path === path",
        arg=path, timeout=timeout * 1000)
    wait_kernel_idle(page, timeout)


#: Notebook 7.6 itself throws this on load (its keyboard-shortcut settings handler), on a
#: notebook without cells and with every third-party lab extension disabled too (checked
#: one by one): not ours
NOTEBOOK7_OWN_ERROR = re.compile(
    r"^pageerror: Cannot read properties of undefined \(reading 'schema'\)$")


def open_in_notebook7(page: Page, server: Server, path: str, console_log: ConsoleLog,
                      timeout: float = 30) -> None:
    """Open ``path`` in Notebook 7 (its own page, no side panels), ignore the error
    Notebook 7 itself throws on load, and wait until the kernel is idle."""
    console_log.ignore.append(NOTEBOOK7_OWN_ERROR)
    page.goto(f"{server.url}/notebooks/{path}", timeout=timeout * 1000)
    page.wait_for_function("path => window.jupyterapp?.shell?.currentWidget?.context?.path "
                           "=== path", arg=path, timeout=timeout * 1000)
    wait_kernel_idle(page, timeout)


def wait_kernel_idle(page: Page, timeout: float = 30) -> None:
    """Wait until the current notebook's kernel exists, is connected and is idle."""
    page.wait_for_function("""() => {
        const kernel = window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel;
        return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
    }""", timeout=timeout * 1000)


def run_all_cells(page: Page, timeout: float = 60) -> None:
    """Run every cell of the current notebook, wait for the end, fail on error outputs."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    wait_kernel_idle(page, timeout)
    errors = page.evaluate("""() => {
        const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
        const out = [];
        for (let i = 0; i < cells.length; i++) {
            const outputs = cells.get(i).sharedModel.toJSON().outputs || [];
            for (const o of outputs)
                if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
        }
        return out;
    }""")
    assert not errors, "notebook raised:\n" + "\n".join(errors)


def kernel_exec(page: Page, code: str, timeout: float = 30) -> str:
    """Run ``code`` in the open notebook's kernel, outside any cell; return its stdout.

    The request queues behind every widget message the page sent before, so after
    ``set_slider`` the kernel has already seen the new value (and redrawn)."""
    out, error = page.evaluate("""async ([code, ms]) => {
        const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const future = kernel.requestExecute({code, store_history: false});
        let out = '', error = null;
        future.onIOPub = msg => {
            if (msg.header.msg_type === 'stream') out += msg.content.text;
            if (msg.header.msg_type === 'error')
                error = `${msg.content.ename}: ${msg.content.evalue}`;
        };
        const late = new Promise(r => setTimeout(() => r('late'), ms));
        if (await Promise.race([future.done, late]) === 'late')
            error = `no reply within ${ms} ms`;
        return [out, error];
    }""", [code, timeout * 1000])
    if error is not None:
        raise AssertionError(f"kernel raised {error} running:\n{code}")
    return str(out)


def kernel_array(page: Page, expr: str, timeout: float = 30) -> np.ndarray:
    """Evaluate ``expr`` in the open notebook's kernel and fetch it as a numpy array,
    e.g. ``kernel_array(page, "viewer.snapshot()")``."""
    out = kernel_exec(page, (
        "def _harness_dump(a):\n"
        "    import base64, json, numpy\n"
        "    a = numpy.ascontiguousarray(a)\n"
        "    print(json.dumps([a.dtype.str, a.shape, base64.b64encode(a.tobytes()).decode()]))\n"
        f"_harness_dump({expr})\n"
        "del _harness_dump\n"), timeout)
    dtype, shape, data = json.loads(out.strip().splitlines()[-1])
    return np.frombuffer(base64.b64decode(data), np.dtype(dtype)).reshape(shape)


def save_notebook(page: Page, timeout: float = 15) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.context.model.dirty === false",
        timeout=timeout * 1000)


def reload_notebook(page: Page, timeout: float = 30) -> None:
    """Save, reload the page and wait for the (still running) kernel to be idle."""
    path = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    save_notebook(page)
    page.reload()
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
    page.wait_for_function(
        "path => window.jupyterapp.shell.currentWidget?.context?.path === path",
        arg=path, timeout=timeout * 1000)
    wait_kernel_idle(page, timeout)


#: Voila answers a page once its kernel has started: two kernels starting at once on a
#: busy 2-core machine took over 30 s (a CI run with both pytest workers busy)
VOILA_TIMEOUT = 90


def open_voila(page: Page, server: Server, path: str, timeout: float = VOILA_TIMEOUT) -> None:
    """Open a notebook rendered by Voila (a kernel of its own per page). Voila streams
    the page while the kernel runs: wait for the widgets (wait_for_canvases) next."""
    page.goto(f"{server.url}/voila/render/{path}", timeout=timeout * 1000)


# --------------------------------------------------------------------------- canvases


def wait_for_canvases(scope: Scope, n: int, timeout: float = 30) -> Locator:
    """Wait until exactly ``n`` widget canvases are attached; return their locator."""
    canvases = scope.locator(CANVAS)
    expect(canvases).to_have_count(n, timeout=timeout * 1000)
    return canvases


def canvas_pixels(canvases: Locator) -> np.ndarray:
    """The backing-store pixels (getImageData) of the matched canvases as uint8
    (H, W, 4); several canvases (image | heatmap | overlay) come side by side, as
    ``CamViewer.snapshot()`` composes them."""
    parts = canvases.evaluate_all("""cs => cs.map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = '';
        for (let i = 0; i < d.length; i += 0x8000)
            s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
        return [c.height, c.width, btoa(s)];
    })""")
    if not parts:
        raise AssertionError(f"no canvas matches {canvases}")
    return np.concatenate([np.frombuffer(base64.b64decode(data), np.uint8).reshape(h, w, 4)
                           for h, w, data in parts], axis=1)


def wait_for_pixels(canvases: Locator, expected: np.ndarray | Callable[[np.ndarray], bool],
                    timeout: float = 15) -> np.ndarray:
    """Poll ``canvas_pixels(canvases)`` until it equals ``expected`` (or the predicate
    holds); on timeout, fail with how far the last read-back was from the expectation."""
    check = expected if callable(expected) else lambda px: np.array_equal(px, expected)
    deadline = time.monotonic() + timeout
    while True:
        pixels = canvas_pixels(canvases)
        if check(pixels):
            return pixels
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if callable(expected):
        raise AssertionError("canvas pixels never satisfied the predicate "
                             + getattr(expected, "last", ""))
    if pixels.shape != expected.shape:
        raise AssertionError(f"canvas shape {pixels.shape}, expected {expected.shape}")
    diff = np.abs(pixels.astype(int) - expected.astype(int))
    raise AssertionError(f"canvas differs at {np.count_nonzero(diff.any(-1))} pixels, "
                         f"max abs difference {diff.max()}")


# --------------------------------------------------------------------------- controls


def _labelled(scope: Scope, widget_class: str, label: str) -> Locator:
    """The ipywidgets control of ``widget_class`` whose description is exactly ``label``."""
    text = re.compile(rf"^\s*{re.escape(label)}\s*$")
    page = scope if isinstance(scope, Page) else scope.page  # `has` is relative: no scope
    return scope.locator(f".{widget_class}").filter(
        has=page.locator(".widget-label", has_text=text))


def slider(scope: Scope, label: str) -> Locator:
    """An IntSlider/FloatSlider (noUiSlider) found by its description."""
    return _labelled(scope, "widget-slider", label)


def slider_value(control: Locator) -> float:
    return float(control.locator(".noUi-target").evaluate("t => t.noUiSlider.get(true)"))


def set_slider(scope: Scope, label: str, value: float, timeout: float = 10) -> None:
    """Move a slider to ``value`` with the keyboard, as a person would: focus its handle
    and press Home/End, PageUp/PageDown and arrow keys (fewest presses first)."""
    control = slider(scope, label)
    opts = control.locator(".noUi-target").evaluate("""t => {
        const o = t.noUiSlider.options;
        return {now: t.noUiSlider.get(true), min: o.range.min, max: o.range.max,
                step: o.step, page: o.keyboardPageMultiplier ?? 5};  // noUiSlider default
    }""")
    step, per_page = float(opts["step"]), int(opts["page"])
    if not opts["min"] <= value <= opts["max"]:
        raise ValueError(f"{label}: {value} outside [{opts['min']}, {opts['max']}]")

    def keys_from(start: float, first: list[str]) -> list[str]:
        steps = round((value - start) / step)
        pages, rest = divmod(abs(steps), per_page)
        up = steps > 0
        return first + ["PageUp" if up else "PageDown"] * pages + \
            ["ArrowRight" if up else "ArrowLeft"] * rest

    keys = min(keys_from(opts["now"], []), keys_from(opts["min"], ["Home"]),
               keys_from(opts["max"], ["End"]), key=len)
    press_slider(scope, label, *keys)
    tolerance = step / 2
    deadline = time.monotonic() + timeout
    while abs(slider_value(control) - value) > tolerance:
        if time.monotonic() > deadline:
            raise AssertionError(f"{label} is {slider_value(control)}, wanted {value}")
        time.sleep(0.05)


def press_slider(scope: Scope, label: str, *keys: str) -> None:
    """Focus the slider's handle and press ``keys`` (e.g. "End", "ArrowLeft")."""
    handle = slider(scope, label).locator(".noUi-handle")
    handle.focus()
    for key in keys:
        handle.press(key)


def dropdown(scope: Scope, label: str) -> Locator:
    """The <select> of a Dropdown found by its description."""
    return _labelled(scope, "widget-dropdown", label).locator("select")


def select_dropdown(scope: Scope, label: str, option: str) -> None:
    """Choose ``option`` (its visible label) in the Dropdown described by ``label``."""
    dropdown(scope, label).select_option(label=option)


def toggle_button(scope: Scope, text: str) -> Locator:
    """A ToggleButton found by its description (the button's text)."""
    return scope.locator("button.widget-toggle-button", has_text=re.compile(
        rf"^\s*{re.escape(text)}\s*$"))


def toggle_state(button: Locator) -> bool:
    return "mod-active" in (button.get_attribute("class") or "").split()


def click_toggle(scope: Scope, text: str, timeout: float = 10) -> bool:
    """Click a ToggleButton and return its new value once the view shows it."""
    button = toggle_button(scope, text)
    before = toggle_state(button)
    button.click()
    deadline = time.monotonic() + timeout
    while toggle_state(button) == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"toggle {text!r} stayed {before}")
        time.sleep(0.05)
    return not before


def output_of(page: Page, cell: int) -> Locator:
    """The output area of the ``cell``-th code cell (0-based) of the open notebook."""
    return page.locator(".jp-Notebook .jp-CodeCell").nth(cell).locator(".jp-OutputArea")

