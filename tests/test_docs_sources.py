"""The doc pages that follow the code (docs/_ext/cam_docs_sources.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cam_widgets

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "cam_docs_sources", ROOT / "docs" / "_ext" / "cam_docs_sources.py")
sources = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sources)

README = """# x

## Speed

Ratios, medians.

| what | cam_widgets |
| --- | --- |
| Grad-CAM | 1.04x |

Viewer: opacity 5 ms.

## Next
"""

LATEST = """# cam_widgets benchmarks, 2026-11-29 02:00
machine: 2 cores; Python 3.11.7
command: make bench (python benchmarks/run_all.py)

$ python -m benchmarks.gradcam_batch
| b | ratio |
[12 s]

## Summary: ratios to a compiled forward pass, measured interleaved
2026-11-29, 2 cores; reproduce with `make bench`

| benchmark | cam_widgets | peers | target | met |
|---|---|---|---|---|
| Grad-CAM, resnet50, b=8 | 1.03x | tf-keras-vis 5.8x | <= 1.05x | yes |
"""


def test_every_notebook_becomes_a_lesson_and_removed_ones_go(tmp_path):
    (tmp_path / "notebooks").mkdir()
    docs = tmp_path / "docs"
    for name in ("01_a.ipynb", "07_new.ipynb"):
        (tmp_path / "notebooks" / name).write_text("{}")
    (docs / "lessons").mkdir(parents=True)
    (docs / "lessons" / "06_gone.ipynb").write_text("{}")
    assert sources.copy_lessons(tmp_path, docs) == ["01_a.ipynb", "07_new.ipynb"]
    assert sorted(p.name for p in (docs / "lessons").iterdir()) == ["01_a.ipynb", "07_new.ipynb"]


def test_the_speed_page_takes_the_latest_bench_summary(tmp_path):
    (tmp_path / "README.md").write_text(README)
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "latest.md").write_text(LATEST)
    page = sources.speed_table(tmp_path)
    assert "machine: 2 cores; Python 3.11.7" in page
    assert "| Grad-CAM, resnet50, b=8 | 1.03x | tf-keras-vis 5.8x | <= 1.05x | yes |" in page
    assert "$ python -m benchmarks.gradcam_batch" in page  # each script's output follows
    assert "1.04x" not in page  # not the README's table


def test_without_a_bench_run_the_speed_page_is_the_readmes_table(tmp_path):
    (tmp_path / "README.md").write_text(README)
    page = sources.speed_table(tmp_path)
    assert "| Grad-CAM | 1.04x |" in page and "Viewer: opacity 5 ms." in page
    assert "## Next" not in page


def test_the_api_page_documents_every_public_name():
    page = sources.api_public()
    for name in cam_widgets.__all__:
        assert f"cam_widgets.{name}\n" in page, name
    assert page.startswith("```{eval-rst}\n")  # autodoc writes reStructuredText
    assert ".. autoclass:: cam_widgets.CamViewer\n   :members:\n" in page
    assert ".. autofunction:: cam_widgets.explain\n" in page
