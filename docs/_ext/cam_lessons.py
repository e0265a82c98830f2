"""Run the lessons copied into `docs/lessons/` before Sphinx reads them, several at once.

MyST-NB executes notebooks one after another; the lessons are independent and each
mostly uses one core, so running `jobs` of them side by side (one kernel each) makes the
build about `jobs` times quicker on a machine with that many cores. A failing cell stops
the build with the lesson's name and the cell's error, as MyST-NB's own execution would.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbclient
import nbformat

CELL_TIMEOUT = 180  # seconds per cell


def run_lesson(path: Path, timeout: int = CELL_TIMEOUT) -> None:
    """Execute the notebook at `path` in its own folder and write it back with outputs."""
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=timeout,
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        raise RuntimeError(f"lesson {path.name} failed:\n{error}") from None
    nbformat.write(notebook, path)


def run_lessons(folder: Path, jobs: int | None = None) -> list[str]:
    """Execute every notebook in `folder`, `jobs` at a time (default: the CPU count, or
    the CAM_DOCS_JOBS environment variable), the longest first (the largest files, a
    fair guess of the longest runs), so that no long lesson starts last; returns their
    names in lesson order."""
    paths = sorted(folder.glob("*.ipynb"), key=lambda path: -path.stat().st_size)
    jobs = jobs or int(os.environ.get("CAM_DOCS_JOBS", 0)) or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(run_lesson, paths):
            pass  # re-raises the first failure
    return sorted(path.name for path in paths)
