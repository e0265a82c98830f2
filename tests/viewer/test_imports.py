"""The viewer's modules load without TensorFlow: the kernel comes in through
`facade.load_kernel()` only, when a viewer is made."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("module", ["cam_widgets.viewer.state", "cam_widgets.viewer"])
def test_importing_leaves_tensorflow_and_keras_out(module):
    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr
