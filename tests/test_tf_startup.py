"""TensorFlow's start-up notices are dropped when cam_widgets loads it, and nothing else."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cam_widgets._tf_startup import STARTUP_NOTICES, stderr_without

ROOT = Path(__file__).resolve().parent.parent
BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN = ("I0000 00:00:1795917670.730171    8838 port.cc:153] oneDNN custom operations are "
          "on. You may see slightly different numerical results.")
NO_CUDA = ("I0000 00:00:1795917670.740832    8838 cudart_stub.cc:31] Could not find cuda "
           "drivers on your machine, GPU will not be used.")


def test_only_the_notices_are_dropped_and_the_rest_passes_in_order(capfd):
    with stderr_without(STARTUP_NOTICES):
        os.write(2, f"first\n{BANNER}\n{ONEDNN}\n".encode())
        os.write(2, f"E0000 a real error: port.cc is fine\n{NO_CUDA}\nno newline".encode())
    os.write(2, f"{BANNER}\n".encode())  # after the block nothing is filtered
    assert capfd.readouterr().err == (
        f"first\nE0000 a real error: port.cc is fine\nno newline{BANNER}\n")

CUINIT = ("E0000 00:00:1796390612.853683   19691 cuda_platform.cc:52] failed call to cuInit: "
          "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)")


def test_the_cuinit_line_is_a_notice_and_other_cuda_errors_are_not(capfd):
    with stderr_without(STARTUP_NOTICES):
        os.write(2, f"{CUINIT}\nE0000 cuda_platform.cc:60] out of memory\n".encode())
    assert capfd.readouterr().err == "E0000 cuda_platform.cc:60] out of memory\n"


def test_lines_split_across_writes_are_judged_whole(capfd):
    with stderr_without(STARTUP_NOTICES):
        os.write(2, BANNER[:20].encode())
        os.write(2, f"{BANNER[20:]}\nkept \xff line\n".encode("latin-1"))
    assert capfd.readouterr().err == "kept \xff line\n".encode("latin-1").decode(
        "utf-8", "replace")


def _stderr_of(*codes: str) -> list[list[str]]:
    """The stderr lines of each snippet, each run in a fresh interpreter (all at once)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    runs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, text=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for code in codes]
    lines = []
    try:
        for run in runs:
            _, stderr = run.communicate(timeout=300)
            assert run.returncode == 0, stderr[-2000:]
            lines.append(stderr.splitlines())
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    return lines


@pytest.mark.slow  # two fresh interpreters import TensorFlow
def test_importing_cam_widgets_prints_nothing_where_tensorflow_prints_its_notices():
    plain, ours = _stderr_of("import tensorflow",
                             "import cam_widgets.kernel, cam_widgets.metrics, keras")
    # this TensorFlow still prints the notices this module is about
    assert [line for line in plain if STARTUP_NOTICES.search(line)], plain
    assert ours == []


@pytest.mark.slow  # two fresh interpreters import TensorFlow and make a tensor
def test_keras_imported_first_or_after_cam_widgets_gives_no_cuinit_line():
    make = "keras.ops.ones((2,)); keras.layers.Dense(1)(keras.ops.ones((1, 2)))"
    keras_first, ours_first = _stderr_of(f"import keras, cam_widgets; {make}",
                                         f"import cam_widgets, keras; {make}")
    # Keras first: TensorFlow's import notices are written before cam_widgets runs, but
    # the cuInit line comes with the first device query, which cam_widgets makes filtered
    assert [line for line in keras_first if STARTUP_NOTICES.search(line)], keras_first
    assert [line for line in keras_first if "cuInit" in line] == []
    assert ours_first == []  # cam_widgets first: TensorFlow loads quietly, whoever imports it


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_lesson_imports_cam_widgets_before_tensorflow(path):
    """Else TensorFlow loads unfiltered and the first cell shows a red stderr box."""
    cell = next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    imports = [line.split()[1].split(".")[0] for line in "".join(cell["source"]).splitlines()
               if line.startswith(("import ", "from "))]
    assert "cam_widgets" in imports, f"{path.name}: the first code cell imports no cam_widgets"
    heavy = [name for name in imports if name in {"tensorflow", "keras"}]
    assert not heavy or imports.index("cam_widgets") < imports.index(heavy[0]), (
        f"{path.name}: the first code cell imports {heavy[0]} before cam_widgets; import "
        "cam_widgets first so TensorFlow loads without its start-up notices")
