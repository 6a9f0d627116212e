"""Beyond one machine: the Bus on a real 3-node JetStream cluster, with one node SIGKILLed
while it publishes and pulls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import nats
import pytest

from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus, Delivery
from lifeboat.wire.connection import NatsOptions
from lifeboat.wire.messages import ExecutionLogLine
from tests.support.natscluster import NatsCluster, run_nats_cluster

pytestmark = pytest.mark.integration

MESSAGES = 60
NAME = "cluster-test-bus"


def _connected_node(cluster: NatsCluster, name: str) -> int:
    """Index of the node holding the client connection called `name`."""
    for index, monitor in enumerate(cluster.monitor_urls):
        if cluster.pids[index] is None:
            continue
        with urllib.request.urlopen(f"{monitor}/connz", timeout=2) as response:
            connz = cast(dict[str, Any], json.load(response))
        connections = cast(list[dict[str, Any]], connz.get("connections") or [])
        if any(c.get("name") == name for c in connections):
            return index
    raise AssertionError(f"no node holds a connection named {name}")


async def _retry(step: Callable[[], Awaitable[None]]) -> None:
    """Run `step` until it succeeds: during the fail-over a request may time out."""
    for _ in range(80):
        try:
            await step()
            return
        except Exception:
            await asyncio.sleep(0.25)
    raise AssertionError("never succeeded within 20 s of retries")


def _line(n: int) -> ExecutionLogLine:
    return ExecutionLogLine(
        execution_id=f"exec-{n}",
        kind="backup",
        attempt=1,
        level="info",
        message=f"line {n}",
        at=datetime.now(UTC),
    )


async def test_bus_on_a_cluster_survives_a_killed_node(tmp_path: Path) -> None:
    with run_nats_cluster(tmp_path / "cluster", n=3) as cluster:
        assert len(cluster.urls) == 3 and all(cluster.pids)
        bus = await Bus.connect(NatsOptions(servers=cluster.urls, replicas=3), name=NAME)
        nc = await nats.connect(servers=list(cluster.urls))
        received: set[str] = set()

        async def consume() -> None:
            # A request during the fail-over (consumer lookup, fetch) may time out: pull
            # again, as the services' consumer loops do.
            while True:
                events = cast(AsyncGenerator[Delivery], bus.events())
                try:
                    async for delivery in events:
                        received.add(json.loads(delivery.data)["message"])
                        with contextlib.suppress(Exception):  # unacked: redelivered
                            await delivery.ack()
                        if len(received) == MESSAGES:
                            return
                except Exception:
                    await asyncio.sleep(0.25)
                finally:
                    await events.aclose()

        try:
            await bus.ensure_streams()
            await bus.ensure_kv(subjects.LEASES_KV)
            js = nc.jetstream()
            for stream in (
                subjects.JOBS_STREAM,
                subjects.EVENTS_STREAM,
                subjects.FIRED_STREAM,
                f"KV_{subjects.SCHEDULES_KV}",
                f"KV_{subjects.LEASES_KV}",
            ):
                info = await js.stream_info(stream)
                assert info.config.num_replicas == 3, stream
            await bus.ensure_streams()  # idempotent on a cluster too

            consumer = asyncio.create_task(consume())
            victim = _connected_node(cluster, NAME)
            for n in range(MESSAGES):
                if n == MESSAGES // 3:
                    cluster.kill(victim)
                    assert cluster.pids[victim] is None
                await _retry(lambda: bus.publish_event("backup", _line(n)))
                await _retry(lambda: bus.kv_put(subjects.LEASES_KV, f"k{n}", f"v{n}".encode()))
            await asyncio.wait_for(consumer, 60)
            assert received == {f"line {n}" for n in range(MESSAGES)}
            assert bus.connected and _connected_node(cluster, NAME) != victim
            for n in (0, MESSAGES // 3, MESSAGES - 1):
                entry = await bus.kv_get(subjects.LEASES_KV, f"k{n}")
                assert entry is not None and entry.value == f"v{n}".encode()
        finally:
            await bus.close()
            await nc.close()


def test_cluster_helper_restarts_a_node(tmp_path: Path) -> None:
    with run_nats_cluster(tmp_path / "cluster", n=3) as cluster:
        pids = cluster.pids
        cluster.kill(1)
        assert cluster.pids[1] is None and cluster.pids[0] == pids[0]
        cluster.start(1)
        assert cluster.pids[1] not in (None, pids[1])
        assert cluster.url == ",".join(cluster.urls)
