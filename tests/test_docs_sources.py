"""The doc pages that follow the code (docs/_ext/cam_docs_sources.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import cam_widgets

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    """A module of docs/_ext (not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sources = _load("cam_docs_sources")

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


def test_the_files_lessons_read_are_copied_beside_them(tmp_path):
    data = tmp_path / "notebooks" / "data"
    data.mkdir(parents=True)
    (tmp_path / "notebooks" / "08_a.ipynb").write_text("{}")
    (data / "maps.npz").write_bytes(b"\x00\x01")
    (tmp_path / "docs").mkdir()
    sources.copy_lessons(tmp_path, tmp_path / "docs")
    assert (tmp_path / "docs" / "lessons" / "data" / "maps.npz").read_bytes() == b"\x00\x01"


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


def test_the_methods_page_lists_every_registered_method_with_paper_and_options(monkeypatch):
    from cam_widgets.kernel.methods import REGISTRY, Method, Option

    class Blur(Method):
        """Blur: a made-up method, registered only for this test."""

        name = "blur_test"
        paper = "Nobody et al. 2026"
        caption = "bright: nothing in particular"
        uses_layer = False
        signed = True
        class_specific = False
        options = (Option("radius", 3, int, "blur radius | in pixels", low=1, high=9),)

        def compute(self, run):
            raise NotImplementedError

    monkeypatch.setitem(REGISTRY, Blur.name, Blur())
    page = sources.methods_page()
    for method in cam_widgets.methods():
        assert f"### `{method.name}`" in page and method.paper in page, method.name
    assert "| `n_samples` | `25` | int in [1, 10000] | noisy copies averaged |" in page
    assert ("| [`blur_test`](#method-blur-test) | Nobody et al. 2026 | no | signed, the same "
            "for every class | `radius` |") in page
    assert "| `radius` | `3` | int in [1, 9] | blur radius \\| in pixels |" in page
    assert "Blur: a made-up method, registered only for this test." in page
    assert "(method-gradcam-plus-plus)=\n### `gradcam++`" in page


@pytest.mark.slow  # starts three Jupyter kernels
def test_lessons_run_side_by_side_and_a_failing_cell_names_its_lesson(tmp_path):
    import nbformat
    lessons = _load("cam_lessons")
    for name, source in (("01_a.ipynb", "x = 6 * 7\nx"), ("02_b.ipynb", "print('hi')")):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        nbformat.write(notebook, tmp_path / name)
    assert lessons.run_lessons(tmp_path, jobs=2) == ["01_a.ipynb", "02_b.ipynb"]
    first = nbformat.read(tmp_path / "01_a.ipynb", as_version=4).cells[0]
    assert first.outputs[0]["data"]["text/plain"] == "42"
    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    nbformat.write(broken, tmp_path / "03_c.ipynb")
    with pytest.raises(RuntimeError, match="lesson 03_c.ipynb failed:(.|\n)*ZeroDivisionError"):
        lessons.run_lessons(tmp_path, jobs=2)
