"""The same saved model and inputs give TensorFlow's results on this backend, for every
registered method and the calls that take a different path through the kernel (nested
paths, input_index, callable and segmentation targets, top_k, several layers)."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import cam_widgets
from tests.backends import cases
from tests.backends.helpers import assert_close_to_reference, fingerprint

CASES = cases.all_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_results_equal_tensorflows(case, saved, references, backend):
    model = saved(case.model)
    probe = cases.images_for(case.model)
    before = fingerprint(model, probe)
    got = cases.run_case(case, model)
    assert_close_to_reference(got, cases.unpack(references, case.name), f"{case.name} on {backend}")
    assert fingerprint(model, probe) == before


def test_every_registered_method_has_a_reference(references):
    stored = {name.split("/")[0] for name in references.files}
    for method in cam_widgets.methods():
        name = cases.Case(cases.METHOD_MODEL.get(method.name, "cnn"), {"method": method.name}).name
        assert name in stored, (
            f"No TensorFlow reference for method {method.name!r}: run "
            "KERAS_BACKEND=tensorflow python scripts/make_backend_fixtures.py")


def test_the_saved_models_predict_as_on_tensorflow(saved, references, backend):
    """The loaded weights and layers compute what they computed on TensorFlow (the
    reference's `predictions` are not stored; the saliency case's class is)."""
    for name in ("cnn", "bn_relu", "tokens"):
        model = saved(name)
        predicted = np.argmax(model.predict(cases.images_for(name), verbose=0), axis=1)
        stored = references[f"{name}-saliency/targets" if name != "bn_relu"
                            else "bn_relu-gradcam/targets"]
        np.testing.assert_array_equal(predicted, stored, err_msg=f"{name} on {backend}")


def test_the_fixtures_are_what_the_script_writes_today(tmp_path, backend, references):
    """Regenerated under TensorFlow into a temporary folder, the models hold the same
    weights and every case the same results as the stored files."""
    if backend != "tensorflow":
        pytest.skip("the fixtures are made on TensorFlow; this backend compares against them")
    # In a fresh interpreter, as the script runs: Keras names layers from per-process
    # counters, so models built earlier in this process would change the names.
    script = pathlib.Path(__file__).parents[2] / "scripts" / "make_backend_fixtures.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True,
                   env={**os.environ, "KERAS_BACKEND": "tensorflow"}, capture_output=True)
    written = sum(path.stat().st_size for path in tmp_path.iterdir())
    assert written < 1_200_000  # the fixtures stay small
    for name in cases.BUILDERS:
        fresh, stored = cases.load(name, tmp_path), cases.load(name)
        assert fresh.get_config() == stored.get_config(), name
        for mine, theirs in zip(fresh.get_weights(), stored.get_weights(), strict=True):
            np.testing.assert_array_equal(mine, theirs, err_msg=name)
    with np.load(tmp_path / cases.REFERENCES) as regenerated:
        assert sorted(regenerated.files) == sorted(references.files), (
            "cases were added or removed: run scripts/make_backend_fixtures.py")
        for case in cases.all_cases():
            got, stored = cases.unpack(regenerated, case.name), cases.unpack(references, case.name)
            assert_close_to_reference(got, stored, f"{case.name} regenerated")
