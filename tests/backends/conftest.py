"""The backend suite runs in its own pytest process per Keras backend:

    KERAS_BACKEND=jax pytest tests/backends      (or torch, or tensorflow)

Keras fixes its backend when it is first imported, so a KERAS_BACKEND that Keras did
not take (set too late, or overridden) stops the run here instead of testing the
wrong backend quietly."""
from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from tests.backends import cases

BACKENDS = ("tensorflow", "jax", "torch")


def pytest_configure(config: pytest.Config) -> None:
    wanted, actual = os.environ.get("KERAS_BACKEND"), keras.config.backend()
    if wanted and wanted != actual:
        raise pytest.UsageError(
            f"KERAS_BACKEND={wanted!r} but Keras runs on {actual!r}: Keras was imported "
            "before the variable was set. Run each backend in its own process: "
            f"KERAS_BACKEND={wanted} python -m pytest tests/backends")
    if actual not in BACKENDS:
        raise pytest.UsageError(
            f"The backend suite runs on {', '.join(BACKENDS)}; Keras runs on {actual!r}.")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """On TensorFlow this suite compares TensorFlow with itself (and checks the stored
    fixtures): part of `make test`, left out of `make test-fast`."""
    if keras.config.backend() == "tensorflow":
        here = os.path.dirname(__file__)
        for item in items:
            if str(item.path).startswith(here):
                item.add_marker(pytest.mark.slow)


def pytest_report_header(config: pytest.Config) -> str:
    return f"keras backend: {keras.config.backend()} (keras {keras.__version__})"


@pytest.fixture(scope="session")
def backend() -> str:
    return keras.config.backend()


@pytest.fixture(scope="session")
def references():
    """The TensorFlow results stored by scripts/make_backend_fixtures.py."""
    with np.load(cases.FIXTURES / cases.REFERENCES) as stored:
        yield stored


_LOADED: dict[str, keras.Model] = {}


@pytest.fixture(scope="session")
def saved():
    """saved(name) -> the fixture model `name`, loaded once under this backend."""
    def get(name: str) -> keras.Model:
        if name not in _LOADED:
            _LOADED[name] = cases.load(name)
        return _LOADED[name]

    return get
