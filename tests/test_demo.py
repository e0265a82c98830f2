"""`make demo` (scripts/demo.sh): JupyterLab on 127.0.0.1 that refuses requests without
the token it prints, and keeps that token off its command line."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import stop_group

pytestmark = pytest.mark.slow  # starts JupyterLab

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def demo(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                 "IPYTHONDIR"):
        env[name] = str(tmp_path / name.lower())
    env.update(BIN=str(Path(sys.executable).parent), PORT=str(port))
    proc = subprocess.Popen(["bash", "scripts/demo.sh"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield port, proc
    finally:
        stop_group(proc)


def test_the_demo_needs_the_token_it_prints(demo):
    port, proc = demo
    printed = []
    for line in proc.stdout:
        printed.append(line)
        if "Stop with Ctrl-C" in line:
            break
    text = "".join(printed)
    match = re.search(rf"http://127\.0\.0\.1:{port}/lab/tree/notebooks/01_grad_cam\.ipynb"
                      r"\?token=([A-Za-z0-9_-]{32,})", text)
    assert match, text
    assert f"ssh -N -L {port}:127.0.0.1:{port} " in text
    token = match.group(1)

    base = f"http://127.0.0.1:{port}/api/status"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "JupyterLab exited"
        try:
            code = _status(f"{base}?token={token}")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
            time.sleep(0.3)
    assert code == 200
    assert _status(base) == 403
    assert _status(f"{base}?token=wrong{token}") == 403
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
    assert "jupyter" in cmdline and token not in cmdline  # `ps` does not show it


def _token(proc: subprocess.Popen, port: int) -> str:
    for line in proc.stdout:
        match = re.search(rf"http://127\.0\.0\.1:{port}/\S*\?token=([A-Za-z0-9_-]{{32,}})", line)
        if match:
            return match.group(1)
    raise AssertionError("the demo printed no URL with a token")


def test_the_demo_saves_widget_state_through_its_own_settings(demo, tmp_path):
    port, proc = demo
    token = _token(proc, port)
    url = (f"http://127.0.0.1:{port}/lab/api/settings/"
           f"@jupyter-widgets/jupyterlab-manager:plugin?token={token}")
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "JupyterLab exited"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                plugin = json.load(response)
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
            time.sleep(0.3)
    # JupyterLab's own default is false; the demo's override makes it true
    assert plugin["schema"]["properties"]["saveState"]["default"] is True
    override = ROOT / "build" / "demo" / "lab-settings" / "overrides.d" / "cam_widgets_demo.json"
    assert json.loads(override.read_text()) == {
        "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True}}
    config = tmp_path / "jupyter_config_dir"  # the user's config dir, as the fixture sets it
    written = [p for p in config.rglob("*") if p.is_file()] if config.exists() else []
    assert not any("saveState" in p.read_text(errors="ignore") for p in written)
