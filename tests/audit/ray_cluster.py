"""A Ray cluster of two nodes on this machine, started and stopped by `ray start`.

Every process it starts carries its own temp dir in its command line, which is how
`stop()` finds them all (raylets, GCS, agents, workers) to kill them, and nothing else.
Ports are chosen free and given explicitly; the nodes share one token of our own.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))
REPO = str(Path(__file__).resolve().parents[2])


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that are free on 127.0.0.1 now."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket()
            handle.bind(("127.0.0.1", 0))
            sockets.append(handle)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for handle in sockets:
            handle.close()


class TwoNodeCluster:
    """A head and a second node, each with its own CPU count."""

    def __init__(self, head_cpus: int = 1, node_cpus: int = 1) -> None:
        self.temp = tempfile.mkdtemp(prefix="cwray", dir="/tmp")  # short: socket paths
        self.head_cpus, self.node_cpus = head_cpus, node_cpus
        self.gcs_port, client_port = free_ports(2)
        self.address = f"127.0.0.1:{self.gcs_port}"
        self.env = {
            **os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3",
            "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
            # a dead node is noticed in about 2 s instead of about 30 s
            "RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
            "RAY_health_check_failure_threshold": "3",
        }
        self.env.pop("RAY_ADDRESS", None)
        self.client_port = client_port
        self.node_manager_ports: list[int] = []

    def _ports(self) -> list[str]:
        manager, objects, runtime_env, agent_grpc, agent_http, metrics, *workers = \
            free_ports(6 + 12)
        self.node_manager_ports.append(manager)
        return [f"--node-manager-port={manager}", f"--object-manager-port={objects}",
                f"--runtime-env-agent-port={runtime_env}",
                f"--dashboard-agent-grpc-port={agent_grpc}",
                f"--dashboard-agent-listen-port={agent_http}",
                f"--metrics-export-port={metrics}",
                f"--worker-port-list={','.join(map(str, workers))}",
                "--node-ip-address=127.0.0.1", "--object-store-memory=200000000",
                "--disable-usage-stats", "--include-log-monitor=false",
                f"--temp-dir={self.temp}"]

    def _run(self, arguments: list[str], env: dict[str, str]) -> None:
        done = subprocess.run([RAY, "start", *arguments], env=env, capture_output=True,
                              text=True, timeout=150)
        if done.returncode:
            raise RuntimeError(f"ray start {' '.join(arguments[:2])} failed:\n"
                               f"{done.stdout[-1500:]}\n{done.stderr[-3000:]}")

    def start_head(self) -> None:
        """`ray start --head` on the fixed ports."""
        self._run(["--head", f"--port={self.gcs_port}", f"--num-cpus={self.head_cpus}",
                   "--include-dashboard=false", f"--ray-client-server-port={self.client_port}",
                   *self._ports()], self.env)

    def start(self, attempts: int = 2) -> None:
        """The head, then the second node joining it; the whole start is tried again once:
        on a loaded machine a raylet gives up when its dashboard agent takes longer than
        its wait (~15 s) to start."""
        # Both nodes are asked for 127.0.0.1; Ray 2.60 gives them this machine's network
        # address instead (a joining node resolves "127.0.0.1" to it, ray-project/ray#59110,
        # and RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, which keeps a lone node on loopback,
        # makes `ray start --address` refuse to join), so their servers listen on every
        # interface for the test's duration, behind the token above.
        for attempt in range(attempts):
            try:
                self.start_head()
                self._run([f"--address={self.address}", f"--num-cpus={self.node_cpus}",
                           *self._ports()], self.env)
                return
            except RuntimeError:
                self.stop(remove=False)
                self.node_manager_ports.clear()
                if attempt == attempts - 1:
                    raise

    def processes(self) -> list[psutil.Process]:
        """Every live process started for this cluster."""
        found = []
        for process in psutil.process_iter(["cmdline"]):
            try:
                if any(self.temp in part for part in process.info["cmdline"] or ()):
                    found.append(process)
            except psutil.Error:
                continue
        return found

    def raylet(self, index: int) -> psutil.Process:
        """The raylet of node `index` (0: head, 1: the second node)."""
        flag = f"--node_manager_port={self.node_manager_ports[index]}"
        for process in self.processes():
            try:
                if process.name() == "raylet" and flag in process.cmdline():
                    return process
            except psutil.Error:
                continue
        raise LookupError(f"no raylet with {flag}")

    def stop(self, remove: bool = True) -> list[int]:
        """Kill every process of the cluster; the pids still alive after (none, we hope)."""
        for _ in range(3):
            processes = self.processes()
            if not processes:
                break
            for process in processes:
                try:
                    process.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(processes, timeout=10)
            time.sleep(0.5)  # a raylet may have started a worker meanwhile
        left = [p.pid for p in self.processes()]
        if remove:
            shutil.rmtree(self.temp, ignore_errors=True)
        return left
