"""Many copies of a batch through the model in chunks: the loop that perturbation
methods (noise, masks, occluded patches, path points) share, bounded in memory."""
from __future__ import annotations

from collections.abc import Callable

from keras import ops

from cam_widgets.kernel import backends
from cam_widgets.kernel.methods.base import Run
from cam_widgets.kernel.targets import gather_scores


def tile_batch(tensor, times):
    """`times` copies of a batch one after the other: (times * B, ...), copy-major."""
    return ops.tile(tensor, [times] + [1] * (len(tensor.shape) - 1))


def flat_copies(copies):
    """(count, B, ...) -> (count * B, ...), copy-major like `tile_batch`."""
    return ops.reshape(copies, (-1, *copies.shape[2:]))


def copies_per_pass(chunk_size: int, batch, n_copies: int):
    """Copies of every image per pass so that one pass holds about `chunk_size` images
    (at least one copy, at most all of them). `batch` is a number where shapes are
    static (JAX, torch) and a tensor in a TensorFlow graph."""
    if isinstance(batch, int):
        return min(max(chunk_size // batch, 1), max(n_copies, 1))
    return ops.clip(chunk_size // batch, 1, max(n_copies, 1))


def chunked_sum(n_copies: int, per_pass, step: Callable, initial):
    """initial + sum over chunks of step(first copy, copies in the chunk), in a loop."""
    return backends.current().chunked_sum(n_copies, per_pass, step, initial)


def copy_range(first, count):
    """The copy numbers first, ..., first + count - 1 (first may be a loop tensor)."""
    return first + ops.arange(count, dtype="int32")


def with_explained(run: Run, explained, count) -> list:
    """The run's inputs tiled `count` times, the explained one replaced by `explained`
    ((count * B, ...), copy-major)."""
    inputs = [tile_batch(x, count) for x in run.inputs]
    inputs[run.input_index] = explained
    return inputs


def forward_scores(run: Run, inputs: list, indices, softmax: bool = False):
    """Scores of a forward pass (no gradient): the run's score, or with `softmax` the
    class probability (softmax of the logits; the model's output if it is not explained
    on logits). A callable target is its own score."""
    out = run.probe(inputs)
    if softmax and run.target_fn is None:
        given = out.scores_from[0]
        probabilities = ops.softmax(given) if run.probe.logits else given
        return gather_scores(probabilities, indices)[0]
    return run.score(out, indices)[0]
