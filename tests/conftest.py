"""Fixtures for every test: quiet TensorFlow and a fixed random seed."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """A keras.applications zoo test is a slow test (make test-fast leaves it out)."""
    for item in items:
        if item.get_closest_marker("zoo") is not None:
            item.add_marker(pytest.mark.slow)
