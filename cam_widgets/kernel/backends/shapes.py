"""Concrete shapes for a run that needs them (JAX, torch): one image per batch, and
`FREE_SIZE` on a free image axis."""
from __future__ import annotations

from cam_widgets.kernel.backends import FREE_SIZE


def sized(shape: tuple) -> tuple[int, ...]:
    """`shape` with batch 1 and FREE_SIZE for any other free axis."""
    return tuple(1 if index == 0 and d is None else FREE_SIZE if d is None else int(d)
                 for index, d in enumerate(shape))
