"""explain_to_parquet on Ray: the rows equal the local engine's, even when an actor dies.

One local Ray (2 CPUs, 127.0.0.1, no dashboard) serves the module, and one Ray run
covers everything (files decoded in the actors, a corrupt file, an actor killed mid-run,
the rows written): each run starts actors that import TensorFlow, which is what costs
time here. The local engine's own Ray is checked in a fresh interpreter: every socket
its processes listen on must be a loopback address.
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is in the test extra: pip install -e '.[test]'")

from cam_widgets import explain_to_parquet, read_results  # noqa: E402
from cam_widgets.audit import maps_of  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level="warning", log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers can't import tests
    yield
    ray.shutdown()


class ScaleOrDie:
    """preprocess x / 255, but the worker process exits on the 3rd batch, once."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def __call__(self, x):
        calls = os.path.join(self.folder, "calls")
        os.makedirs(calls, exist_ok=True)
        with open(os.path.join(calls, f"{os.getpid()}-{len(os.listdir(calls))}"), "w"):
            pass
        died = os.path.join(self.folder, "died")
        if len(os.listdir(calls)) >= 3 and not os.path.exists(died):
            open(died, "w").close()
            os._exit(1)  # the actor's process dies with this batch in flight
        return x / 255.0


def test_ray_rows_equal_local_with_a_corrupt_file_and_an_actor_killed(
        local_ray, shapes, held_out, png_folder, tmp_path):
    folder = tmp_path / "images"
    shutil.copytree(png_folder, folder)
    good = (folder / "img_05.png").read_bytes()
    (folder / "img_05.png").write_bytes(good[:100])  # a corrupt PNG
    kwargs = dict(labels=None, boxes=None, batch_size=3, map_size=(16, 16))
    local = explain_to_parquet(shapes, folder, tmp_path / "local", preprocess=lambda x: x / 255.0,
                               **kwargs)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    on_ray = explain_to_parquet(shapes, folder, tmp_path / "ray", engine="ray", num_actors=2,
                                preprocess=ScaleOrDie(str(hooks)), **kwargs)
    assert (hooks / "died").exists(), "no actor was killed: the test did not test retries"
    assert on_ray["written"] == local["written"] == 19
    assert on_ray["failed"].keys() == local["failed"].keys() == {str(folder / "img_05.png")}
    a, b = read_results(tmp_path / "local"), read_results(tmp_path / "ray")
    ids = b.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == 19  # none lost, none written twice
    assert ids == a.column("id").to_pylist()
    np.testing.assert_array_equal(b.column("target").to_numpy(), a.column("target").to_numpy())
    np.testing.assert_array_equal(b.column("predicted").to_numpy(), a.column("predicted").to_numpy())
    np.testing.assert_allclose(b.column("score").to_numpy(), a.column("score").to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(maps_of(b), maps_of(a), atol=1e-5)
    assert not [p for p in os.listdir(tmp_path / "ray") if p.endswith(".tmp")]
    again = explain_to_parquet(shapes, folder, tmp_path / "ray", engine="ray")
    assert (again["written"], again["skipped"]) == (0, 19)  # resumed: nothing to do


def test_ray_refuses_a_tf_dataset(local_ray, shapes, held_out, tmp_path):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(held_out.images).batch(4)
    with pytest.raises(ValueError, match="engine='ray' reads image files or an array"):
        explain_to_parquet(shapes, dataset, tmp_path / "out", engine="ray")


LISTENING = """
import json, sys
import psutil
from cam_widgets import explain_to_parquet
from cam_widgets.datasets import make_shapes, shapes_model
summary = explain_to_parquet(shapes_model(), make_shapes(4, seed=1).images, sys.argv[1],
                             engine="ray")
me = psutil.Process()
found = []
for process in [me, *me.children(recursive=True)]:
    try:
        for c in process.net_connections("inet"):
            if c.status == psutil.CONN_LISTEN:
                found.append([process.name(), c.laddr.ip, c.laddr.port])
    except psutil.Error:
        pass
print(json.dumps({"written": summary["written"], "listening": found}))
"""


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1
    return ip.is_loopback


def test_local_engines_ray_listens_on_loopback_only(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", LISTENING, str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["written"] == 4
    names = {name for name, _, _ in report["listening"]}
    assert {"gcs_server", "raylet"} <= names, report  # the servers were found and listed
    exposed = [entry for entry in report["listening"] if not is_loopback(entry[1])]
    assert exposed == [], f"Ray listens beyond loopback: {exposed}"
