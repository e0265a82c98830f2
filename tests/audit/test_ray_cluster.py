"""explain_to_parquet(engine="ray") on a real two-node Ray cluster, and losing a node.

The fixture starts a head (1 CPU) with `ray start --head` and joins a second node (1 CPU)
with `ray start --address=...`, both on this machine, and kills every process it started
at the end. The run is driven from a process of its own (`ray_driver.py`: Ray reads its
token at start-up), joins through RAY_ADDRESS with two actors: one lands on each node
(each needs one CPU). It explains slowly (a preprocess that sleeps, and waits for both
actors before the first batch), so that once both nodes have written a batch there is
work left: then the second node's raylet is killed, and the run must finish on the head
with every row once, the rows and files equal to the local engine's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray", reason="Ray is in the test extra: pip install -e '.[test]'")

from cam_widgets import explain_to_parquet, read_results  # noqa: E402
from cam_widgets.audit import maps_of  # noqa: E402
from cam_widgets.audit.ray_engine import NODE_KEY  # noqa: E402
from tests.audit.ray_cluster import TwoNodeCluster  # noqa: E402

DRIVER = Path(__file__).with_name("ray_driver.py")

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


def node_of(path) -> str:
    return pq.read_schema(path).metadata[NODE_KEY].decode()


def test_two_nodes_share_the_run_and_losing_one_loses_no_row(cluster, shapes, held_out,
                                                             tmp_path, record_property):
    images = np.rint(np.concatenate([held_out.images] * 2) * 255).astype(np.uint8)  # 40
    local = explain_to_parquet(shapes, images, tmp_path / "local", preprocess=scale,
                               batch_size=2, map_size=(16, 16))
    expected = read_results(tmp_path / "local")

    shapes.save(tmp_path / "model.keras")
    np.save(tmp_path / "images.npy", images)
    env = {**cluster.env, "RAY_ADDRESS": cluster.address}
    driver = subprocess.Popen([sys.executable, str(DRIVER), str(tmp_path)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        nodes = _read_json(tmp_path / "nodes.json", driver, 90)
        second = next(n["id"] for n in nodes if n["port"] == cluster.node_manager_ports[1])
        head = next(n["id"] for n in nodes if n["id"] != second)
        out, seen = tmp_path / "ray", {}
        deadline = time.monotonic() + 120
        while driver.poll() is None and time.monotonic() < deadline:
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
        driver.wait(timeout=150)
    finally:
        if driver.poll() is None:
            driver.kill()
    if (tmp_path / "error.txt").exists():
        pytest.fail("the run failed:\n" + (tmp_path / "error.txt").read_text())
    summary = json.loads((tmp_path / "summary.json").read_text())
    for name, value in (("written_before_the_loss", written_before), ("nodes", nodes),
                        ("images_per_node", summary["nodes"]),
                        ("replaced_actors", summary["replaced_actors"])):
        record_property(name, value)  # what the run saw, in --junitxml reports
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


def _read_json(path, driver: subprocess.Popen, timeout: float):
    """The JSON the driver writes at `path`, once there; the driver's error if it fails."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        error = path.with_name("error.txt")
        if error.exists() or driver.poll() is not None or time.monotonic() > deadline:
            driver.kill()
            text = error.read_text() if error.exists() else driver.stderr.read()[-3000:]
            pytest.fail(f"the driver did not write {path.name}:\n{text}")
        time.sleep(0.1)
    time.sleep(0.1)  # written whole (a few hundred bytes)
    return json.loads(path.read_text())
