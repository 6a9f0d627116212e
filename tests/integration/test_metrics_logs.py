"""/metrics, /api/logs, /api/schedulers and readiness against a real API and nats-server.

Backups are recorded the way production records them: POST /api/backups queues a job, a
simulated executor takes it off the real JetStream queue and reports over the events stream.
The exposition is parsed with Prometheus' own text parser and compared with the API's records.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lifeboat.api.db.models import BackupExecution
from lifeboat.core.logs import attach, forget_secret, register_secret
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import encode
from lifeboat.wire.logship import LogShipper
from lifeboat.wire.messages import BackupJob, ExecutorHeartbeat, SchedulerHeartbeat
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    error_of,
    eventually,
    make_token,
    serve_api,
)
from tests.support.executor_sim import finish_backup, next_job

METRICS_TOKEN = "prometheus-scrape-token-0123"
SECRET = "canary-Secret-9f8e7d"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    settings = api_settings(
        tmp_path_factory.mktemp("api-metrics"), nats_url, METRICS_TOKEN=METRICS_TOKEN
    )
    async with serve_api(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-metrics")
    await connected.ensure_streams()
    yield connected
    await connected.close()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def scrape(api: RunningApi, token: str = METRICS_TOKEN) -> Samples:
    response = await api.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def backup(api: RunningApi, bus: Bus, db: dict[str, Any], *, ok: bool, size: int) -> None:
    data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    job = await next_job(bus, db["queue"])
    assert isinstance(job, BackupJob)
    await finish_backup(api, bus, job, ok=ok, content=b"x" * size)
    status = "completed" if ok else "failed"

    async def done() -> bool:
        record = data_of(await api.client.get(f"/api/backups/{job.execution_id}"))
        return bool(record["status"] == status)

    await eventually(done)


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_metrics_match_the_recorded_history(api: RunningApi, bus: Bus) -> None:
    busy, idle = unique("qa"), unique("qb")
    shop = data_of(
        await api.client.post("/api/databases", json=database_body(unique("shop-"), busy)), 201
    )
    crm = data_of(
        await api.client.post("/api/databases", json=database_body(unique("crm-"), idle)), 201
    )
    await backup(api, bus, shop, ok=True, size=100)
    await backup(api, bus, shop, ok=False, size=0)
    await backup(api, bus, shop, ok=True, size=2345)
    # crm: one backup queued that no executor takes (its queue has no consumer yet).
    data_of(await api.client.post("/api/backups", json={"databaseId": crm["id"]}), 202)
    schedule = data_of(
        await api.client.post(
            "/api/schedules", json={"databaseConfigId": crm["id"], "scheduleType": "daily"}
        ),
        201,
    )
    now = datetime.now(UTC)
    beat = ExecutorHeartbeat(
        executor_id="ex-1",
        queue=busy,
        version="t",
        tools={},
        running=[],
        concurrency=1,
        started_at=now,
        at=now,
        interval_s=30,
    )

    async def heard() -> bool:
        await bus.publish(subjects.EXECUTOR_HEARTBEAT, encode(beat))
        return busy in {e["queue"] for e in data_of(await api.client.get("/api/executors"))}

    await eventually(heard)

    history = data_of(await api.client.get("/api/backups", params={"databaseId": shop["id"]}))
    newest = max((b for b in history if b["status"] == "completed"), key=lambda b: b["completedAt"])
    async with api.ctx.db.write() as session:  # the newest backup passed a verification
        row = await session.get(BackupExecution, newest["id"])
        assert row is not None
        row.verification_status = "verified"
    samples = await scrape(api)
    ids = {"database": shop["name"], "database_id": shop["id"]}
    assert value(samples, "lifeboat_backup_last_success_timestamp_seconds", **ids) == pytest.approx(
        _ts(newest["completedAt"]), abs=0.001
    )
    assert (
        value(samples, "lifeboat_backup_last_size_bytes", **ids) == newest["fileSizeBytes"] == 2345
    )
    assert (
        value(samples, "lifeboat_backup_last_duration_seconds", **ids) == newest["durationSeconds"]
    )
    assert value(samples, "lifeboat_backups", status="completed", **ids) == 2
    assert value(samples, "lifeboat_backups", status="failed", **ids) == 1
    verifications = "lifeboat_backup_verifications"
    assert value(samples, verifications, status="verified", **ids) == 1
    assert value(samples, verifications, status="unverified", **ids) == 1
    assert value(samples, verifications, status="failed", **ids) is None  # no failed verdict
    crm_ids = {"database": crm["name"], "database_id": crm["id"]}
    assert value(samples, "lifeboat_backups", status="pending", **crm_ids) == 1
    assert value(samples, "lifeboat_backup_last_success_timestamp_seconds", **crm_ids) is None
    assert value(samples, "lifeboat_queue_waiting_jobs", queue=idle) == 1
    assert value(samples, "lifeboat_queue_waiting_jobs", queue=busy) == 0
    assert value(samples, "lifeboat_queue_inflight_jobs", queue=busy) == 0
    assert value(samples, "lifeboat_executors_live", queue=busy) == 1
    assert value(samples, "lifeboat_executors_live", queue=idle) == 0
    next_run = value(
        samples,
        "lifeboat_schedule_next_run_timestamp_seconds",
        schedule_id=schedule["id"],
        schedule_type="daily",
        **crm_ids,
    )
    assert next_run == pytest.approx(_ts(schedule["nextRunAt"]), abs=0.001)
    assert value(samples, "lifeboat_nats_connected") == 1
    assert ("process_cpu_seconds_total", frozenset()) in samples


async def test_metrics_are_protected(
    api: RunningApi, tmp_path_factory: pytest.TempPathFactory, nats_url: str
) -> None:
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        error_of(await anonymous.get("/metrics"), 401, "UNAUTHORIZED")
        error_of(
            await anonymous.get("/metrics", headers={"Authorization": "Bearer wrong-token"}),
            401,
            "UNAUTHORIZED",
        )
        # Not the SPA's index.html.
        assert "<html" not in (await anonymous.get("/metrics")).text.lower()
    viewer = await make_token(api.ctx, "viewer")
    assert await scrape(api, viewer)
    settings = api_settings(
        tmp_path_factory.mktemp("api-allow"), nats_url, METRICS_ALLOW="127.0.0.0/8"
    )
    async with serve_api(settings, authenticated=False) as allowed:
        response = await allowed.client.get("/metrics")
        assert response.status_code == 200 and "lifeboat_nats_connected" in response.text


async def test_scheduler_heartbeat_in_readiness_and_status(api: RunningApi, bus: Bus) -> None:
    beat = SchedulerHeartbeat(scheduler_id="sched-it", at=datetime.now(UTC), interval_s=5)

    async def heard() -> list[dict[str, Any]]:
        await bus.publish(subjects.SCHEDULER_HEARTBEAT, encode(beat))
        return [s for s in data_of(await api.client.get("/api/schedulers")) if s["live"]]

    (scheduler,) = await eventually(heard)
    assert scheduler["id"] == "sched-it" and scheduler["intervalSeconds"] == 5
    assert scheduler["heartbeatAgeSeconds"] < 5
    ready = data_of(await api.client.get("/api/health/ready"))
    assert ready["checks"]["scheduler"]["ok"] and not ready["checks"]["scheduler"]["warning"]
    samples = await scrape(api)
    assert value(samples, "lifeboat_schedulers_live") == 1


async def test_logs_window_keeps_shipped_and_own_lines_scrubbed(api: RunningApi, bus: Bus) -> None:
    marker = unique("disk-")
    shipper = LogShipper("executor", "ex-logs")
    source = logging.getLogger("it.shipped")
    source.propagate = False
    attach(shipper, source)
    register_secret(SECRET)
    task = asyncio.create_task(shipper.run(bus))
    try:
        await asyncio.sleep(0.05)
        source.warning("%s almost full; password %s", marker, SECRET)
        source.info("%s below WARNING: not shipped", marker)
        logging.getLogger("lifeboat.api.it").error("%s from the API itself", marker)

        async def arrived() -> list[dict[str, Any]]:
            lines = data_of(await api.client.get("/api/logs", params={"q": marker}))
            return lines if len(lines) == 2 else []

        lines = {line["service"]: line for line in await eventually(arrived)}
    finally:
        forget_secret(SECRET)
        task.cancel()
        source.removeHandler(shipper)
    shipped, api_line = lines["executor"], lines["api"]
    assert shipped["instance"] == "ex-logs" and shipped["logger"] == "it.shipped"
    assert (
        shipped["level"] == "warning"
        and shipped["message"] == f"{marker} almost full; password ***"
    )
    assert api_line["service"] == "api" and api_line["level"] == "error"
    first, last = sorted((shipped["seq"], api_line["seq"]))
    only = data_of(await api.client.get("/api/logs", params={"q": marker, "service": "executor"}))
    assert [line["seq"] for line in only] == [shipped["seq"]]
    errors = data_of(await api.client.get("/api/logs", params={"q": marker, "level": "error"}))
    assert [line["service"] for line in errors] == ["api"]
    # WARNING and up: the API's INFO lines about these very requests name the marker too
    # (when an earlier test left the root logger at INFO).
    newer = data_of(
        await api.client.get("/api/logs", params={"q": marker, "after": first, "level": "warning"})
    )
    assert [line["seq"] for line in newer] == [last]
    assert data_of(await api.client.get("/api/logs", params={"q": "no-such-line-" + marker})) == []
    error_of(await api.client.get("/api/logs", params={"level": "loud"}), 400, "VALIDATION_ERROR")
    error_of(await api.client.get("/api/logs", params={"limit": 0}), 400, "VALIDATION_ERROR")
    response = await api.client.get("/api/logs", headers={"X-Request-ID": "req-abc.123"})
    assert response.headers["x-request-id"] == "req-abc.123"
