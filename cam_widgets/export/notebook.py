"""A notebook as one HTML page that shows the viewers' last views offline.

What `jupyter nbconvert --to html` does with a widget output (nbconvert 7): its
`WidgetsDataTypeFilter` picks the first mimetype of `NbConvertBase.display_data_priority`
present, and the widget view comes first, unless the notebook holds no saved state for
that widget. So a notebook saved WITHOUT widget state exports the viewer's PNG (the
`image/png` its display carries), while one saved WITH widget state ("Save Widget State
Automatically") exports the widget view, which the page can only draw after loading the
widget manager and ipycanvas' JavaScript from a CDN: offline, the cell is blank.

`PRIORITY` moves the widget view just after `image/png`: an output that carries a PNG
(every CamViewer's does) is exported as that picture, other widgets as before. Use it with

    python -m cam_widgets.export.notebook lesson.ipynb [lesson.html]

or give the same list to nbconvert as `--NbConvertBase.display_data_priority=...`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: nbconvert 7's HTML priority, with the widget view moved after image/png
PRIORITY = ["application/javascript", "text/html", "text/markdown", "image/svg+xml",
            "text/vnd.mermaid", "text/latex", "image/png", WIDGET_VIEW, "image/jpeg",
            "text/plain"]


def nbconvert_option() -> str:
    """The nbconvert command-line option that sets `PRIORITY`."""
    return f"--NbConvertBase.display_data_priority={json.dumps(PRIORITY)}"


def notebook_to_html(notebook: str | os.PathLike[str],
                     output: str | os.PathLike[str] | None = None) -> Path:
    """Export `notebook` to HTML (nbconvert's lab template) with `PRIORITY`; returns the
    file written (`output`, or the notebook's name with .html)."""
    try:
        import nbformat
        from nbconvert import HTMLExporter
        from traitlets.config import Config
    except ImportError as e:
        raise ImportError("notebook_to_html needs nbconvert: pip install nbconvert") from e
    source = Path(notebook)
    if not source.is_file():
        raise FileNotFoundError(f"no notebook at {str(source)!r}")
    target = Path(output) if output is not None else source.with_suffix(".html")
    exporter = HTMLExporter(config=Config({"NbConvertBase": {
        "display_data_priority": PRIORITY}}))
    body, _ = exporter.from_notebook_node(
        nbformat.read(source, as_version=4),
        resources={"metadata": {"name": source.stem, "path": str(source.parent)}})
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        sys.stderr.write("usage: python -m cam_widgets.export.notebook lesson.ipynb "
                         "[lesson.html]\n")
        return 2
    written = notebook_to_html(*args)
    sys.stderr.write(f"wrote {written}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
