"""The Ray engine: Ray Data decodes in parallel, an actor pool explains, Ray writes Parquet.

Each actor loads the model once (from the .keras bytes shipped with it, so a remote worker
needs no shared disk for it) and reuses one compiled explain function for every batch.
Files reach the results folder only when whole (`publishing_fs`), and a task whose actor
dies is retried by Ray, so a run writes every pending image exactly once.

Cluster: when Ray is already initialised (`ray.init(address=...)`) or RAY_ADDRESS is
set, the run joins that cluster; otherwise a local Ray is started with the node bound to
127.0.0.1, no dashboard and so no jobs endpoint. Ray's ports have no authentication:
keep a cluster's ports on a private network, never on a public address. The results
folder must be reachable by every worker (a shared file system) for a real cluster.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import numpy as np

from cam_widgets.audit.plan import Plan
from cam_widgets.audit.publishing_fs import publishing_filesystem
from cam_widgets.audit.sources import ArraySource, Batch, DatasetSource, FileSource
from cam_widgets.audit.store import written_ids
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


class _FailureLog:
    """Collects (id, reason) of images that could not be decoded (a Ray actor)."""

    def __init__(self) -> None:
        self.failed: dict[Any, str] = {}

    def add(self, failed: dict[Any, str]) -> None:
        self.failed.update(failed)

    def get(self) -> dict[Any, str]:
        return self.failed


def _decode(rows: dict[str, np.ndarray], source: FileSource, log: Any) -> dict[str, np.ndarray]:
    """Ray task: decode and resize a batch of files (no preprocess: the actor does it)."""
    raw_source = FileSource(source.paths, source.size, None)
    batch = raw_source.load(rows["position"].tolist())
    if batch.failed:
        _ray().get(log.add.remote(batch.failed))
    return {"position": batch.positions, "image": batch.images.astype(np.uint8)}


class _Explainer:
    """Ray actor: the model, loaded once; explains batches into Parquet rows."""

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

    def __call__(self, rows: dict[str, np.ndarray]):
        from cam_widgets.audit.local import explain_batch
        from cam_widgets.audit.sources import _apply

        positions = np.asarray(rows["position"], np.int64)
        source = self.plan.source
        if isinstance(source, ArraySource):
            images = _apply(source.preprocess, source.array[positions])
        else:
            images = _apply(source.preprocess, np.asarray(rows["image"]))
        ids = [source.ids[p] for p in positions]
        return explain_batch(self.model, self.plan, Batch(ids, positions, images))


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
    log = ray.remote(num_cpus=0)(_FailureLog).remote()
    blocks = max(1, min(len(pending) // plan.batch_size, 4 * num_actors * 4))
    data = ray.data.from_items([{"position": p} for p in pending], override_num_blocks=blocks)
    if isinstance(plan.source, FileSource):
        data = data.map_batches(_decode, batch_size=plan.batch_size, batch_format="numpy",
                                fn_kwargs={"source": plan.source, "log": log})
    data = data.map_batches(
        _Explainer, batch_size=plan.batch_size, batch_format="numpy", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=num_actors),
        fn_constructor_args=(model_bytes(model), plan, 1))  # Ray restarts dead actors

    ray.data.DataContext.get_current().enable_progress_bars = show_progress
    bar = image_bar(show_progress, len(pending), f"{plan.method} -> parquet (ray)")
    try:
        data.write_parquet(os.path.abspath(plan.path), filesystem=publishing_filesystem(),
                           schema=plan.schema, min_rows_per_file=plan.batch_size,
                           ray_remote_args={"num_cpus": 0})  # writes never wait for a CPU
        bar.update(len(pending))
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    failed = ray.get(log.get.remote())
    ray.kill(log)
    written = len(written_ids(plan.path)) - len(done)
    return {"written": written, "skipped": skipped, "failed": failed,
            "images_per_s": written / seconds if seconds > 0 else 0.0}
