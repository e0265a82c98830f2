"""Sphinx configuration: the README as front page, the executed lessons, the API
reference from the docstrings and the latest benchmark table. Builds offline.

`make docs` runs `sphinx-build -W` on this folder. Pages that follow the code are
generated here, before Sphinx reads anything (see `_ext/cam_docs_sources.py`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]
# The notebooks' kernels inherit this environment: they import this checkout's package.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cam_docs_sources  # noqa: E402
import cam_lessons  # noqa: E402

import cam_widgets  # noqa: E402

cam_docs_sources.write_all(ROOT, DOCS)
cam_lessons.run_lessons(DOCS / cam_docs_sources.LESSONS)

project = "cam_widgets"
author = "The cam_widgets authors"
copyright = "the cam_widgets authors, Apache License 2.0"  # noqa: A001 (Sphinx's name)
release = version = cam_widgets.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
exclude_patterns = ["_build", "_generated", "**.ipynb_checkpoints"]
root_doc = "index"
suppress_warnings = ["config.cache"]  # conf.py holds functions; rebuild-on-change is fine

# MyST: headings get anchors, $...$ math as in the notebooks, README links become plain.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# Notebooks: every lesson ran above (`cam_lessons`, several at once; a failing cell fails
# the build), so MyST-NB renders their outputs without running them again.
nb_execution_mode = "off"
nb_merge_streams = True
# The widget cannot run in a static page: show the PNG its mimebundle carries, and load
# no widget JavaScript (it would come from a CDN).
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
]
nb_ipywidgets_js = {}

# API reference
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_ivar = True  # "Attributes" as a field list: name, then its description
default_role = "code"  # the docstrings' `name` means code

# Offline: MathJax from the jupyter-server-mathjax package (copied into _static/mathjax
# by cam_docs_sources), no intersphinx, no remote fonts or scripts.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {  # that MathJax ships the STIX-Web fonts only
    "HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web",
                 "webFont": "STIX-Web", "imageFont": None},
}
myst_update_mathjax = False  # its settings are MathJax 3's
html_theme = "pydata_sphinx_theme"
html_title = f"cam_widgets {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "speed": [], "changelog": []}
html_show_sourcelink = False


def setup(app):
    app.connect("build-finished", cam_docs_sources.copy_mathjax)
