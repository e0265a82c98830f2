"""Shared data for the audit tests: the shipped shapes model and a few held-out images."""
from __future__ import annotations

import pytest
from PIL import Image

from cam_widgets.datasets import make_shapes, shapes_model
from tests.audit.helpers import as_uint8_images


@pytest.fixture(scope="session")
def shapes():
    return shapes_model()


@pytest.fixture(scope="session")
def held_out():
    return make_shapes(20, seed=11)


@pytest.fixture(scope="session")
def png_folder(tmp_path_factory, held_out):
    """The held-out images as 8-bit PNG files img_00.png ... img_19.png."""
    folder = tmp_path_factory.mktemp("pngs")
    for i, image in enumerate(as_uint8_images(held_out)):
        Image.fromarray(image).save(folder / f"img_{i:02d}.png")
    return folder
