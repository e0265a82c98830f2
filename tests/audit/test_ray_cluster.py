"""explain_to_parquet(engine="ray") on a real two-node Ray cluster, and losing a node.

The fixture starts a head (1 CPU) with `ray start --head` and joins a second node (1 CPU)
with `ray start --address=...`, both on this machine, and kills every process it started
at the end. The run joins through RAY_ADDRESS with two actors: one lands on each node
(each needs one CPU). It explains slowly (a preprocess that sleeps, and waits for both
actors before the first batch), so that once both nodes have written a batch there is
work left: then the second node's raylet is killed, and the run must finish on the head
with every row once, the rows and files equal to the local engine's.
"""
from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray", reason="Ray is in the test extra: pip install -e '.[test]'")

from cam_widgets import explain_to_parquet, read_results  # noqa: E402
from cam_widgets.audit import maps_of  # noqa: E402
from cam_widgets.audit.ray_engine import NODE_KEY, connect  # noqa: E402
from tests.audit.ray_cluster import TwoNodeCluster  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    if ray.is_initialized():
        ray.shutdown()
    nodes = TwoNodeCluster(head_cpus=1, node_cpus=1)
    try:
        nodes.start()
        yield nodes
    finally:
        if ray.is_initialized():
            ray.shutdown()
        left = nodes.stop()
    assert left == [], f"Ray processes left running: {left}"


def scale(x):
    return x / 255.0


class SlowScale:
    """preprocess x / 255 that takes `seconds` per batch, and whose first batch in each
    worker waits until `workers` workers have started (so no actor finishes the run alone
    while the other is still loading TensorFlow)."""

    def __init__(self, folder: str, seconds: float, workers: int) -> None:
        self.folder, self.seconds, self.workers = folder, seconds, workers

    def __call__(self, x):
        os.makedirs(self.folder, exist_ok=True)
        open(os.path.join(self.folder, str(os.getpid())), "w").close()
        deadline = time.monotonic() + 60
        while len(os.listdir(self.folder)) < self.workers and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(self.seconds)
        return x / 255.0


def node_of(path) -> str:
    return pq.read_schema(path).metadata[NODE_KEY].decode()


def test_two_nodes_share_the_run_and_losing_one_loses_no_row(
        cluster, shapes, held_out, tmp_path, monkeypatch):
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
        monkeypatch.setenv(name, cluster.env[name])
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers can't import tests
    images = np.rint(np.concatenate([held_out.images] * 2) * 255).astype(np.uint8)  # 40
    kwargs = dict(batch_size=2, map_size=(16, 16))
    local = explain_to_parquet(shapes, images, tmp_path / "local", preprocess=scale, **kwargs)
    expected = read_results(tmp_path / "local")

    out = tmp_path / "ray"
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["summary"] = explain_to_parquet(
                shapes, images, out, engine="ray", num_actors=2,
                preprocess=SlowScale(str(tmp_path / "workers"), 0.25, 2), **kwargs)
        except BaseException as error:  # noqa: BLE001 - re-raised below
            outcome["error"] = error

    connect()  # join here (RAY_ADDRESS), so the run's thread finds Ray initialised
    nodes = {n["NodeID"]: n for n in _wait_for_nodes(2)}
    driver = threading.Thread(target=run)
    driver.start()
    second = next(i for i, n in nodes.items()
                  if n["NodeManagerPort"] == cluster.node_manager_ports[1])
    head = next(i for i in nodes if i != second)
    seen: dict[str, int] = {}
    deadline = time.monotonic() + 120
    while driver.is_alive() and time.monotonic() < deadline:
        for path in out.glob("part-*.parquet") if out.is_dir() else ():
            try:
                seen[path.name] = node_of(path)
            except (OSError, KeyError):
                continue
        if {head, second} <= set(seen.values()):
            break
        time.sleep(0.05)
    assert second in seen.values() and head in seen.values(), \
        f"batches did not run on both nodes before the end: {seen}"
    written_before = len(seen)
    cluster.raylet(1).kill()  # the second node dies mid-run, batches still queued
    driver.join(timeout=150)
    assert not driver.is_alive(), "the run did not finish after the node was lost"
    if "error" in outcome:
        raise outcome["error"]
    summary = outcome["summary"]
    assert written_before < 20, "the run was nearly over when the node died"
    assert summary["written"] == local["written"] == 40 and summary["failed"] == {}
    assert set(summary["nodes"]) == {head, second}
    assert summary["replaced_actors"] >= 1  # the second node's actor was lost
    after = {p.name: node_of(p) for p in out.glob("part-*.parquet")}
    assert set(after) == {p.name for p in (tmp_path / "local").glob("part-*.parquet")}
    assert head in after.values()
    got = read_results(out)
    ids = got.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == 40  # none lost, none written twice
    assert ids == expected.column("id").to_pylist()
    np.testing.assert_array_equal(got.column("target").to_numpy(),
                                  expected.column("target").to_numpy())
    np.testing.assert_allclose(got.column("score").to_numpy(),
                               expected.column("score").to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(maps_of(got), maps_of(expected), atol=1e-5)
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


def _wait_for_nodes(count: int, timeout: float = 60.0) -> list[dict]:
    """The cluster's live nodes, once `count` are up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [n for n in ray.nodes() if n["Alive"]]
        if len(alive) >= count:
            return alive
        time.sleep(0.2)
    raise TimeoutError(f"the cluster did not show {count} live nodes in {timeout} s")
