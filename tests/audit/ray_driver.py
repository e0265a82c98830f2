"""The driver of the two-node test, run in a process of its own.

Ray reads its authentication settings (RAY_AUTH_MODE, RAY_AUTH_TOKEN) once, when the
process first uses it, so a driver that joins a cluster with a token must start with
them in its environment: the test process, which imported Ray long before, cannot join.

    python tests/audit/ray_driver.py <folder>

reads `<folder>/model.keras` and `<folder>/images.npy`, writes `<folder>/nodes.json`
(the cluster's live nodes) once joined, explains into `<folder>/ray` with two actors,
then writes `<folder>/summary.json`, or `<folder>/error.txt` if the run failed.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np


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


def main(folder: Path) -> None:
    import ray

    from cam_widgets import explain_to_parquet
    from cam_widgets.audit.ray_engine import connect

    try:
        connect()  # RAY_ADDRESS
        deadline = time.monotonic() + 60
        while len([n for n in ray.nodes() if n["Alive"]]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        nodes = [{"id": n["NodeID"], "port": n["NodeManagerPort"], "address": n["NodeManagerAddress"]}
                 for n in ray.nodes() if n["Alive"]]
        (folder / "nodes.json").write_text(json.dumps(nodes))
        summary = explain_to_parquet(
            str(folder / "model.keras"), np.load(folder / "images.npy"), folder / "ray",
            engine="ray", num_actors=2, batch_size=2, map_size=(16, 16),
            preprocess=SlowScale(str(folder / "workers"), 0.25, 2))
        (folder / "summary.json").write_text(json.dumps(summary, default=str))
    except BaseException:  # noqa: BLE001 - reported to the test through the file
        (folder / "error.txt").write_text(traceback.format_exc())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
