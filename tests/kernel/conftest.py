"""The `zoo` fixture: each architecture of tests/kernel/zoo.py, built once per session."""
from __future__ import annotations

import keras
import pytest

from tests.kernel.zoo import ZOO, zoo_model


@pytest.fixture(params=list(ZOO), scope="session")
def zoo(request) -> keras.Model:
    return zoo_model(request.param)
