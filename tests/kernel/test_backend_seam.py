"""The backend seam: one module per Keras backend, methods written once."""
from __future__ import annotations

import pathlib
import re

import keras
import pytest

from cam_widgets.kernel import backends

KERNEL = pathlib.Path(__file__).parents[2] / "cam_widgets" / "kernel"


def test_a_backend_without_gradients_gets_an_error_naming_the_three(monkeypatch):
    monkeypatch.setattr(keras.config, "backend", lambda: "numpy")
    with pytest.raises(RuntimeError) as error:
        backends.current()
    message = str(error.value)
    assert "'numpy'" in message
    assert all(name in message for name in ("tensorflow", "jax", "torch"))
    assert "KERAS_BACKEND" in message


def test_the_current_backend_is_keras_own():
    assert backends.current().name == keras.config.backend()


@pytest.mark.parametrize("path", sorted(p for p in KERNEL.rglob("*.py")
                                        if "backends" not in p.parts),
                         ids=lambda p: str(p.relative_to(KERNEL)))
def test_no_kernel_module_outside_backends_imports_a_backend_or_asks_which(path):
    text = path.read_text()
    assert not re.search(r"^\s*(import|from)\s+(tensorflow|jax|torch)\b", text, re.M)
    assert "config.backend()" not in text
