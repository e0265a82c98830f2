"""The Ray engine: a pool of actors explains batches and each actor writes its own rows.

Each actor loads the model once (from the .keras bytes shipped with it, so a remote
worker needs no shared disk for the model), decodes its batch's files with Pillow, reuses
one compiled explain function, and writes the batch's rows as the batch's own Parquet
file (`store.write_batch`: temporary name, renamed when whole, named after the batch).
The driver sends positions and receives a few numbers per batch: it holds no rows. When
an actor or its node dies, its batches go to another actor (`ray_pool.ActorPool`); a
batch written again replaces its file, so no row is lost or written twice.

Cluster: when Ray is already initialised (`ray.init(address=...)`) or RAY_ADDRESS is
set, the run joins that cluster; the results folder must then be one path that every
node can write (a shared file system), and image files must be readable at the same
paths on every node (or pass an array). Otherwise a private local Ray is started with its
node address 127.0.0.1 and no dashboard. Ray (2.60) turns a node address of 127.0.0.1
into the machine's network address unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 is set
when Ray is imported; `_ray()` sets it when it is the first to import Ray and no cluster
is named, and then every Ray server of the local Ray listens on loopback only (measured
with psutil; tests/audit/test_parquet_ray.py checks it). If Ray was imported before
(with clusters enabled), the local Ray listens on every interface, guarded only by Ray's
token authentication: keep such a machine behind a firewall.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from typing import Any

import keras
import numpy as np

from cam_widgets.audit.clock import RunClock
from cam_widgets.audit.plan import Plan
from cam_widgets.audit.ray_pool import ActorPool
from cam_widgets.audit.sources import DatasetSource
from cam_widgets.audit.store import remove_stale_temporaries
from cam_widgets.kernel.progress import image_bar

LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": a 127.0.0.1 node stays loopback
NODE_KEY = b"cam_widgets.node"  # Parquet metadata: the Ray node that wrote the file
#: a local node waits a fixed 30 s for its raylet to register; a machine loaded by other
#: work can take longer, and a second start then usually succeeds
SLOW_START, LOCAL_STARTS = "timed out during startup", 2


def _ray():
    if "ray" not in sys.modules and not os.environ.get("RAY_ADDRESS"):
        os.environ.setdefault(LOOPBACK_ONLY, "0")  # read once, when Ray is imported
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
    for attempt in range(LOCAL_STARTS):
        try:
            ray.init(include_dashboard=False, _node_ip_address="127.0.0.1",
                     logging_level="warning", log_to_driver=False)
            return
        except Exception as error:  # Ray raises a bare Exception for a slow start
            if SLOW_START not in str(error) or attempt == LOCAL_STARTS - 1:
                raise
            ray.shutdown()  # the half-started node goes; the next start is a fresh one


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


class Explainer:
    """Ray actor: loads the model once, then explains and writes batches of positions."""

    def __init__(self, model_file: bytes, plan: Plan, threads: int) -> None:
        started = time.perf_counter()
        from cam_widgets.audit.models import keras, load_model  # TF's notices filtered

        if keras.backend.backend() == "tensorflow":  # one actor's share of the CPUs
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:  # TF already initialised in this worker
                pass
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as handle:
                handle.write(model_file)
            self.model = load_model(path)
        self.plan = plan
        import ray

        self.node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""
        self.load_s = time.perf_counter() - started

    def ready(self) -> dict[str, Any]:
        return {"node": self.node, "load_s": self.load_s}

    def run(self, positions: list[int]) -> dict[str, Any]:
        """Explain and write one batch; return its counts (never its rows)."""
        from cam_widgets.audit.local import write_explained

        batch = self.plan.source.load(np.asarray(positions, np.int64).tolist())
        if batch.ids:
            write_explained(self.model, self.plan, batch, {NODE_KEY: self.node.encode()})
        return {"node": self.node, "written": len(batch.ids), "failed": batch.failed}


def _cpus_per_actor(ray: Any, num_actors: int) -> int:
    """The cluster's CPUs shared out between the actors (at most one node's worth)."""
    alive = [n for n in ray.nodes() if n.get("Alive")]
    largest = max((int(n["Resources"].get("CPU", 0)) for n in alive), default=1)
    total = int(ray.cluster_resources().get("CPU", 1))
    return max(1, min(total // num_actors, largest))


def run_ray(model: Any, plan: Plan, done: set[Any], show_progress: bool,
            num_actors: int) -> dict[str, Any]:
    """Explain every pending image on Ray; same rows (and files) as the local engine."""
    if isinstance(plan.source, DatasetSource):
        raise ValueError("engine='ray' reads image files or an array; for a tf.data.Dataset "
                         "use engine='local' (or write the images to files first).")
    if isinstance(num_actors, bool) or not isinstance(num_actors, int) or num_actors < 1:
        raise ValueError(f"num_actors must be a positive int; got {num_actors!r}.")
    pending = plan.pending_positions(done)
    skipped = len(plan.source.ids) - len(pending)
    if not pending:
        return {"written": 0, "skipped": skipped, "failed": {}, "images_per_s": 0.0}
    clock = RunClock()
    plan = dataclasses.replace(plan, path=os.path.abspath(plan.path))  # workers' cwd differs
    ray = _ray()
    connect()
    join_s = time.perf_counter() - clock.started
    cpus = _cpus_per_actor(ray, num_actors)
    # Actors run Keras on the driver's backend (Keras reads KERAS_BACKEND at import).
    backend = {"env_vars": {"KERAS_BACKEND": keras.config.backend()}}
    remote = ray.remote(num_cpus=cpus, max_restarts=0, runtime_env=backend)(Explainer)
    shared = (ray.put(model_bytes(model)), ray.put(plan))
    jobs = [pending[i:i + plan.batch_size] for i in range(0, len(pending), plan.batch_size)]
    counts: dict[str, Any] = {"written": 0, "failed": {}, "nodes": {}}
    warm: set[Any] = set()
    ready_at: list[float] = []
    bar = image_bar(show_progress, len(pending), f"{plan.method} -> parquet (ray)")

    def finished(result: dict[str, Any], actor: Any) -> None:
        counts["written"] += result["written"]
        counts["failed"].update(result["failed"])
        nodes = counts["nodes"]
        nodes[result["node"]] = nodes.get(result["node"], 0) + result["written"]
        first = actor not in warm
        warm.add(actor)
        images = result["written"] + len(result["failed"])
        clock.batch(images, warm=first and len(warm) >= min(num_actors, len(jobs)))
        bar.update(images)
        bar.set_postfix(written=counts["written"], refresh=False)

    pool = ActorPool(ray, lambda: remote.remote(*shared, cpus), num_actors)
    try:
        pool.run(jobs, finished, lambda info: ready_at.append(time.perf_counter()))
    finally:
        pool.close()
        bar.close()
    remove_stale_temporaries(plan.path)  # left by workers that died mid-write
    report = clock.report(counts["written"], join_s=join_s,
                          actors_ready_s=(max(ready_at[:num_actors]) - clock.started)
                          if ready_at else float("nan"))
    return {**counts, "skipped": skipped, "replaced_actors": pool.replaced, **report}
