"""The built wheel works on its own: installed into a fresh venv outside the repository.

The venv sees the dev venv's packages through a `.pth` path line (so TensorFlow is not
reinstalled); a path line only extends sys.path, it does not run the editable install's
finder, and the repository is not on the path, so `import cam_widgets` can only find the
wheel's copy (checked through `cam_widgets.__file__`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # builds a wheel and a fresh venv

ROOT = Path(__file__).resolve().parent.parent
MODEL_IN_WHEEL = "cam_widgets/data/shapes_model.keras"

# Runs in the fresh venv: what a new user does first.
USER_SCRIPT = """
import json, sys
import numpy as np
import cam_widgets
from cam_widgets import CamViewer, explain
from cam_widgets.datasets import CLASS_NAMES, make_shapes, shapes_model

model = shapes_model()
images = make_shapes(3, seed=2).images
res = explain(model, images, method="gradcam")
viewer = CamViewer(model, class_names=list(CLASS_NAMES))
viewer.show(images[0])
snapshot = viewer.snapshot()
np.save(sys.argv[1], res.maps)
print(json.dumps({"file": cam_widgets.__file__, "version": cam_widgets.__version__,
                  "sys_path": sys.path, "targets": res.targets.tolist(),
                  "snapshot": list(snapshot.shape)}))
"""


# Child processes never get the repository on their path.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"TF_CPP_MIN_LOG_LEVEL": "3"}


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if done.returncode:
        pytest.fail(f"{args[:3]} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # As `python -m build` does: the sdist, then the wheel from the unpacked sdist (so a
    # file missing from the sdist is missing from the wheel too). --no-isolation: the
    # build backend comes from the test extra, so nothing is downloaded.
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT),
         cwd=out, env=_ENV)
    assert len(list(out.glob("cam_widgets-*.tar.gz"))) == 1
    wheels = list(out.glob("cam_widgets-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_carries_the_model_and_the_licence(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert MODEL_IN_WHEEL in names, f"{MODEL_IN_WHEEL} is missing from {wheel.name}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "benchmarks/"))]


def test_the_wheel_works_in_a_fresh_venv_outside_the_repo(wheel, tmp_path):
    from cam_widgets import explain
    from cam_widgets.datasets import make_shapes, shapes_model

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv), env=_ENV)
    python = venv / "bin" / "python"
    site = Path(_run(str(python), "-I", "-c",
                     "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # Install first: with the dev packages visible, pip would find the editable install's
    # metadata, call the requirement satisfied and install nothing.
    _run(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel), env=_ENV)
    (site / "dev_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    maps_file = tmp_path / "maps.npy"
    # -I: no PYTHONPATH, no user site, not the current folder; cwd is outside the repo.
    done = _run(str(python), "-I", "-c", USER_SCRIPT, str(maps_file), cwd=tmp_path, env=_ENV)
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert Path(seen["file"]).is_relative_to(site), seen["file"]
    assert not [p for p in seen["sys_path"] if Path(p).resolve() == ROOT]
    assert seen["version"] == wheel.name.split("-")[1]
    assert seen["snapshot"][2] == 4 and seen["snapshot"][0] > 0
    # the wheel's code gives the repository's numbers
    images = make_shapes(3, seed=2).images
    expected = explain(shapes_model(), images, method="gradcam")
    assert seen["targets"] == expected.targets.tolist()
    np.testing.assert_allclose(np.load(maps_file), expected.maps, atol=1e-5)
