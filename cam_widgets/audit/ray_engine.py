"""The Ray engine: Ray Data streams batches through an actor pool; the driver writes.

Each actor loads the model once (from the .keras bytes shipped with it, so a remote worker
needs no shared disk for it), decodes its batch's files with Pillow and reuses one
compiled explain function for every batch. Rows stream back to the driver, which writes
each batch as one whole file (`store.write_batch`, as the local engine does): a task whose
actor dies is retried by Ray and its rows arrive once, so no row is lost or written twice,
and the results folder only needs to exist on the driver's machine.

Why not `Dataset.write_parquet`: measured on this 2-CPU machine, its write tasks waited
~105 s on average to be scheduled behind the actor pool (2,000 images, 1 actor), several
times the whole explain stage; writing ~2 KB rows on the driver costs a few ms per batch.

Cluster: when Ray is already initialised (`ray.init(address=...)`) or RAY_ADDRESS is
set, the run joins that cluster; otherwise a local Ray is started with its node address
set to 127.0.0.1, no dashboard and so no jobs endpoint. Measured with Ray 2.60: its GCS
and raylet still listen on every interface (and one agent on 0.0.0.0), protected only by
the token authentication Ray now turns on by default. Ray's endpoints are not made for
untrusted networks: keep a cluster's ports (and a machine running the local one) behind a
firewall on a private network, never on a public address. On a cluster, the image files
must be readable at the same paths on every node (or pass an array); results stay on the
driver.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import numpy as np
import pyarrow as pa

from cam_widgets.audit.plan import Plan
from cam_widgets.audit.sources import DatasetSource
from cam_widgets.audit.store import write_batch
from cam_widgets.kernel.progress import image_bar


def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError("engine='ray' needs Ray: pip install 'cam_widgets[ray]'.") from None
    return ray


def connect() -> None:
    """Join the running Ray (or RAY_ADDRESS); else start a private local one."""
    ray = _ray()
    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init(logging_level="warning", log_to_driver=False)
        return
    ray.init(include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level="warning", log_to_driver=False)


def model_bytes(model: Any) -> bytes:
    """The .keras file of `model` (a path is read as is; a model is saved to a temp file)."""
    if isinstance(model, (str, os.PathLike)):
        with open(model, "rb") as handle:
            return handle.read()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as handle:
            return handle.read()


ERROR = "error"  # extra column between actors and the driver: why an image failed


def failure_rows(failed: dict[Any, str], table_schema: pa.Schema) -> pa.Table:
    """Rows that carry only an id and the reason it failed (never written)."""
    count = len(failed)
    columns = [pa.array(list(failed), table_schema.field("id").type) if f.name == "id"
               else pa.nulls(count, f.type) for f in table_schema]
    columns.append(pa.array(list(failed.values()), pa.string()))
    return pa.Table.from_arrays(columns, schema=table_schema.append(pa.field(ERROR, pa.string())))


class _Explainer:
    """Ray actor: loads the model once, then decodes and explains batches into rows."""

    def __init__(self, model_file: bytes, plan: Plan, threads: int) -> None:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TF already initialised in this worker
            pass
        import keras

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as handle:
                handle.write(model_file)
            self.model = keras.saving.load_model(path, compile=False)
        self.plan = plan

    def __call__(self, rows: dict[str, np.ndarray]) -> pa.Table:
        from cam_widgets.audit.local import explain_batch

        batch = self.plan.source.load(np.asarray(rows["position"], np.int64).tolist())
        parts = [failure_rows(batch.failed, self.plan.schema)]
        if batch.ids:
            table = explain_batch(self.model, self.plan, batch)
            parts.append(table.append_column(ERROR, pa.nulls(table.num_rows, pa.string())))
        return pa.concat_tables(parts)


def run_ray(model: Any, plan: Plan, done: set[Any], show_progress: bool,
            num_actors: int) -> dict[str, Any]:
    """Explain every pending image on Ray; same rows as the local engine."""
    if isinstance(plan.source, DatasetSource):
        raise ValueError("engine='ray' reads image files or an array; for a tf.data.Dataset "
                         "use engine='local' (or write the images to files first).")
    if isinstance(num_actors, bool) or not isinstance(num_actors, int) or num_actors < 1:
        raise ValueError(f"num_actors must be a positive int; got {num_actors!r}.")
    ray = _ray()
    pending = plan.pending_positions(done)
    skipped = len(plan.source.ids) - len(pending)
    if not pending:
        return {"written": 0, "skipped": skipped, "failed": {}, "images_per_s": 0.0}
    connect()
    started = time.perf_counter()
    blocks = max(1, min(-(-len(pending) // plan.batch_size), 16 * num_actors))
    data = ray.data.from_items([{"position": p} for p in pending], override_num_blocks=blocks)
    data = data.map_batches(
        _Explainer, batch_size=plan.batch_size, batch_format="numpy", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=num_actors),
        fn_constructor_args=(model_bytes(model), plan, 1))  # Ray restarts dead actors
    ray.data.DataContext.get_current().enable_progress_bars = False
    written, failed = 0, {}
    bar = image_bar(show_progress, len(pending), f"{plan.method} -> parquet (ray)")
    try:
        for table in data.iter_batches(batch_size=plan.batch_size, batch_format="pyarrow"):
            errors = table.column(ERROR)
            bad = table.filter(errors.is_valid())
            failed.update(zip(bad.column("id").to_pylist(), bad.column(ERROR).to_pylist()))
            good = table.filter(errors.is_null()).drop_columns([ERROR]).cast(plan.schema)
            if good.num_rows:
                write_batch(plan.path, good)
                written += good.num_rows
            bar.update(table.num_rows)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    return {"written": written, "skipped": skipped, "failed": failed,
            "images_per_s": written / seconds if seconds > 0 else 0.0}
