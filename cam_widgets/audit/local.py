"""The local engine: explain batch after batch in this process, one file per batch."""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from cam_widgets.audit.clock import RunClock
from cam_widgets.audit.plan import Plan
from cam_widgets.audit.rows import to_table
from cam_widgets.audit.sources import Batch, DatasetSource
from cam_widgets.audit.store import batch_name, write_batch
from cam_widgets.kernel import explain
from cam_widgets.kernel.progress import image_bar
from cam_widgets.kernel.targets import sigmoid_head


def _batches(plan: Plan, done: set[Any]) -> Iterator[Batch]:
    source = plan.source
    if isinstance(source, DatasetSource):
        for batch in source.batches():
            keep = [i for i, image_id in enumerate(batch.ids) if image_id not in done]
            yield Batch([batch.ids[i] for i in keep], batch.positions[keep],
                        batch.images[keep], labels=None if batch.labels is None
                        else batch.labels[keep], skipped=len(batch.ids) - len(keep))
        return
    pending = plan.pending_positions(done)
    runs = [pending[start:start + plan.batch_size]
            for start in range(0, len(pending), plan.batch_size)]
    if not runs:
        return
    # Decode the next batch on a thread while this one is explained: Pillow's decoding
    # and TensorFlow's kernels both release the GIL. One batch ahead bounds memory.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cam-widgets-decode") as pool:
        ahead = pool.submit(source.load, runs[0])
        for following in [*runs[1:], None]:
            batch = ahead.result()
            if following is not None:
                ahead = pool.submit(source.load, following)
            yield batch


def explain_batch(model: Any, plan: Plan, batch: Batch) -> pa.Table:
    """Explain one loaded batch and turn it into rows."""
    labels = batch.labels if batch.labels is not None else plan.labels_at(batch.positions)
    target = labels if plan.target_is_label else plan.target
    result = explain(model, batch.images, method=plan.method, target=target,
                     batch_size=plan.batch_size, **plan.explain_kwargs)
    return to_table(batch.ids, result, plan.schema, labels=labels,
                    boxes=plan.boxes_at(batch.positions), masks=plan.masks_at(batch.positions),
                    binary=sigmoid_head(model))


def write_explained(model: Any, plan: Plan, batch: Batch,
                    metadata: dict[bytes, bytes] | None = None) -> str:
    """Explain one loaded batch and write its rows as the batch's own file."""
    table = explain_batch(model, plan, batch)
    if metadata:
        table = table.replace_schema_metadata({**table.schema.metadata, **metadata})
    return write_batch(plan.path, table, batch_name(batch.positions[0], batch.ids))


def run_local(model: Any, plan: Plan, done: set[Any], show_progress: bool) -> dict[str, Any]:
    """Explain every pending image: counts written, skipped and failed, and images/s."""
    written, skipped, failed = 0, 0, {}
    bar = image_bar(show_progress, plan.pending_count(done), f"{plan.method} -> parquet")
    clock = RunClock()
    try:
        for batch in _batches(plan, done):
            failed.update(batch.failed)
            skipped += batch.skipped
            if batch.ids:
                write_explained(model, plan, batch)
                written += len(batch.ids)
            clock.batch(len(batch.ids) + len(batch.failed), warm=True)
            bar.update(len(batch.ids) + len(batch.failed))
            bar.set_postfix(written=written, refresh=False)
    finally:
        bar.close()
    if not isinstance(plan.source, DatasetSource):
        skipped = len(plan.source.ids) - plan.pending_count(done)
    return {"written": written, "skipped": skipped, "failed": failed, **clock.report(written)}


