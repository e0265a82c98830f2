"""Concrete shapes for a run that needs them (JAX, torch): `PROBE_BATCH` images per
batch, and `FREE_SIZE` on a free image axis."""
from __future__ import annotations

from cam_widgets.kernel.backends import FREE_SIZE

# Two images, not one: an output whose first axis is 1 (a position embedding) is then
# told apart from one that has the batch axis.
PROBE_BATCH = 2


def sized(shape: tuple) -> tuple[int, ...]:
    """`shape` with batch PROBE_BATCH and FREE_SIZE for any other free axis."""
    return tuple(PROBE_BATCH if index == 0 and d is None else FREE_SIZE if d is None else int(d)
                 for index, d in enumerate(shape))


def free_batch(output) -> tuple:
    """The shape of one output of a run on `sized` inputs, its batch axis free again."""
    shape = tuple(output.shape)
    return (None, *shape[1:]) if shape and shape[0] == PROBE_BATCH else shape
