"""Helpers shared by the audit tests."""
from __future__ import annotations

import numpy as np


def as_uint8_images(held_out) -> np.ndarray:
    """The held-out images rounded to 8 bits, as the PNG files hold them."""
    return np.rint(held_out.images * 255).astype(np.uint8)
