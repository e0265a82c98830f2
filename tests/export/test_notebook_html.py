"""A saved notebook (widget state on) exported with nbconvert shows the viewer's last
view offline: nbconvert's default picks the widget view (drawn only with JavaScript from
a CDN); `cam_widgets.export.notebook` makes it pick the PNG the viewer's output carries."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cam_widgets.datasets import make_shapes, shapes_model
from cam_widgets.export.notebook import main, nbconvert_option, notebook_to_html
from cam_widgets.viewer import CamViewer
from tests.helpers import write_saved_notebook as save_with_state

JUPYTER = str(Path(sys.executable).parent / "jupyter")

pytestmark = pytest.mark.slow  # each test runs nbconvert (a few seconds)


def write_saved_notebook(path: Path) -> str:
    """A shown viewer's notebook as saved with widget state on; returns its PNG."""
    viewer = CamViewer(shapes_model(), prefetch=False)
    viewer.show(make_shapes(1, seed=4).images[0])
    viewer.flush()
    return save_with_state(viewer, path)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("nb") / "lesson.ipynb"
    return path, write_saved_notebook(path)


def _picture(png: str) -> str:
    return f'src="data:image/png;base64,{png}"'


def test_nbconvert_default_exports_the_widget_view_not_the_picture(saved, tmp_path):
    path, png = saved
    subprocess.run([JUPYTER, "nbconvert", "--to", "html", str(path), "--output-dir",
                    str(tmp_path)], check=True, capture_output=True, timeout=120)
    page = (tmp_path / "lesson.html").read_text("utf-8")
    assert '<script type="application/vnd.jupyter.widget-view+json">' in page
    assert _picture(png) not in page  # the finding: blank offline


def test_notebook_to_html_exports_the_picture(saved, tmp_path):
    path, png = saved
    written = notebook_to_html(path, tmp_path / "handout.html")
    page = written.read_text("utf-8")
    assert page.count(_picture(png)) == 1
    assert '<script type="application/vnd.jupyter.widget-view+json">' not in page


def test_the_nbconvert_option_does_the_same(saved, tmp_path):
    path, png = saved
    subprocess.run([JUPYTER, "nbconvert", "--to", "html", str(path), "--output-dir",
                    str(tmp_path), nbconvert_option()], check=True, capture_output=True,
                   timeout=120)
    assert (tmp_path / "lesson.html").read_text("utf-8").count(_picture(png)) == 1


def test_notebook_to_html_errors(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no notebook at"):
        notebook_to_html(tmp_path / "missing.ipynb")
    assert main([]) == 2
    assert "usage: python -m cam_widgets.export.notebook" in capsys.readouterr().err
