"""Many copies of a batch through the model in chunks: the loop that perturbation
methods (noise, masks, occluded patches, path points) share, bounded in memory."""
from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from cam_widgets.kernel.methods.base import Run
from cam_widgets.kernel.targets import gather_scores


def tile_batch(tensor: tf.Tensor, times: tf.Tensor) -> tf.Tensor:
    """`times` copies of a batch one after the other: (times * B, ...), copy-major."""
    multiples = tf.concat([[times], tf.ones([tf.rank(tensor) - 1], tf.int32)], 0)
    return tf.tile(tensor, multiples)


def flat_copies(copies: tf.Tensor) -> tf.Tensor:
    """(count, B, ...) -> (count * B, ...), copy-major like `tile_batch`."""
    return tf.reshape(copies, tf.concat([[-1], tf.shape(copies)[2:]], 0))


def copies_per_pass(chunk_size: int, batch: tf.Tensor, n_copies: int) -> tf.Tensor:
    """Copies of every image per pass so that one pass holds about `chunk_size` images
    (at least one copy, at most all of them)."""
    return tf.clip_by_value(chunk_size // batch, 1, max(n_copies, 1))


def chunked_sum(n_copies: int, per_pass: tf.Tensor,
                step: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
                initial: tf.Tensor) -> tf.Tensor:
    """initial + sum over chunks of step(first copy, copies in the chunk), in a loop."""
    def body(start, total):
        count = tf.minimum(per_pass, n_copies - start)
        return start + count, total + step(start, count)

    _, total = tf.while_loop(lambda start, _: start < n_copies, body,
                             (tf.constant(0, tf.int32), initial))
    return total


def with_explained(run: Run, explained: tf.Tensor, count: tf.Tensor) -> list[tf.Tensor]:
    """The run's inputs tiled `count` times, the explained one replaced by `explained`
    ((count * B, ...), copy-major)."""
    inputs = [tile_batch(x, count) for x in run.inputs]
    inputs[run.input_index] = explained
    return inputs


def forward_scores(run: Run, inputs: list[tf.Tensor], indices: tf.Tensor,
                   softmax: bool = False) -> tf.Tensor:
    """Scores of a forward pass (no gradient): the run's score, or with `softmax` the
    class probability (softmax of the logits; the model's output if it is not explained
    on logits; for a binary sigmoid head p for class 1 and 1 - p for class 0). A
    callable target is its own score."""
    out = run.probe(inputs)
    if softmax and run.target_fn is None:
        given = out.scores_from[0]
        if out.sigmoid_head:
            p = given if out.probabilities else tf.sigmoid(given)
            return gather_scores(p, indices, binary=True, probabilities=True)[0]
        probabilities = tf.nn.softmax(given) if run.probe.logits else given
        return gather_scores(probabilities, indices)[0]
    return run.score(out, indices)[0]
