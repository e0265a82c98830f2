"""The package as a user meets it: licence, version, completion of the public names."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import cam_widgets
from cam_widgets._version import UNKNOWN_VERSION, installed_version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PUBLIC = {"CamViewer", "ExplainResult", "LayerInfo", "explain", "explain_dataset",
          "list_layers", "methods"}


def test_licence_file_and_metadata_agree():
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text.splitlines()[1] and "Version 2.0, January 2004" in text
    # PEP 639: an SPDX `license` replaces the licence classifiers; both would be refused.
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_python_classifiers_start_at_requires_python_and_include_the_one_running():
    floor = re.fullmatch(r">=3\.(\d+)", PROJECT["requires-python"]).group(1)
    minors = sorted(int(c.rsplit(".", 1)[1]) for c in PROJECT["classifiers"]
                    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    assert minors == list(range(int(floor), minors[-1] + 1))  # from the floor, no gaps
    assert sys.version_info.minor in minors, "CI runs a Python the classifiers do not list"


def test_version_is_the_installed_distributions():
    assert cam_widgets.__version__ == metadata.version("cam_widgets") == PROJECT["version"]


def test_version_falls_back_when_the_distribution_is_not_installed():
    assert installed_version("cam-widgets-no-such-distribution") == UNKNOWN_VERSION == "0+unknown"


def test_dir_offers_the_public_names_without_loading_them():
    code = (
        "import sys, cam_widgets\n"
        "names = dir(cam_widgets)\n"
        "print(','.join(names))\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'ipywidgets') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    names = set(out[0].split(","))
    assert PUBLIC | {"__version__"} <= names
    assert out[1] == "[]", "dir() must not import TensorFlow, Keras or the widget stack"
    # helpers of __init__ are not offered
    assert not names & {"importlib", "Any", "TYPE_CHECKING", "ModuleType", "annotations"}


def test_every_name_dir_offers_resolves():
    for name in set(cam_widgets.__all__):
        assert getattr(cam_widgets, name) is not None, name
    assert set(cam_widgets.__all__) <= set(dir(cam_widgets))
