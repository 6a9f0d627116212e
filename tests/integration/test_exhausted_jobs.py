"""A job every delivery of which dies (an executor crash-looping on it) ends ``failed`` with the
reason instead of ``running`` for ever, and leaves the jobs stream: a real nats-server, the real
API, and a "crashing executor" that takes each delivery and never finishes it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lifeboat.api.db.models import BackupExecution
from lifeboat.wire import subjects
from lifeboat.wire.bus import JOB_MAX_DELIVER, Bus
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    eventually,
    serve_api,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(
        api_settings(tmp_path_factory.mktemp("api-exhausted"), nats_url)
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-exhausted")
    await connected.ensure_streams()
    yield connected
    await connected.close()


async def test_a_job_no_executor_finishes_ends_failed(api: RunningApi, bus: Bus) -> None:
    queue = f"crash{uuid.uuid4().hex[:8]}"
    database = data_of(
        await api.client.post("/api/databases", json=database_body(f"db-{queue}", queue)), 201
    )
    backup = data_of(
        await api.client.post("/api/backups", json={"databaseId": database["id"]}), 202
    )

    deliveries: list[int] = []

    async def crash_loop() -> None:
        # Takes every delivery and dies with it (never acknowledges, never heartbeats).
        async for delivery in bus.jobs(queue, lease_s=1.0):
            deliveries.append(delivery.attempt)

    crashing = asyncio.ensure_future(crash_loop())
    try:

        async def ended() -> dict[str, Any] | None:
            record = data_of(await api.client.get(f"/api/backups/{backup['id']}"))
            return record if record["status"] == "failed" else None

        record: dict[str, Any] = await eventually(ended, timeout=40, interval=0.3)
    finally:
        crashing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await crashing
    assert deliveries == list(range(1, JOB_MAX_DELIVER + 1))
    assert f"all {JOB_MAX_DELIVER} deliveries stopped responding" in record["errorMessage"]
    info = await bus.stream_info(subjects.JOBS_STREAM)
    assert info["messages"] == 0  # removed from the work queue


async def test_a_verification_no_executor_finishes_ends_failed(api: RunningApi, bus: Bus) -> None:
    """The same for a verification job: the verification and the backup's verdict say failed."""
    queue = f"crash{uuid.uuid4().hex[:8]}"
    database = data_of(
        await api.client.post("/api/databases", json=database_body(f"db-{queue}", queue)), 201
    )
    async with api.ctx.db.write() as session:
        now = datetime.now(UTC)
        row = BackupExecution(
            database_config_id=database["id"],
            backup_type="manual",
            status="completed",
            local_status="completed",
            local_path="x/2026/12/x.dump.zst",
            file_name="x.dump.zst",
            file_size_bytes=10,
            checksum="0" * 64,
            compression_used="zstd",
            row_counts=json.dumps({"public.t": 1}),
            object_counts=json.dumps({"tables": 1}),
            started_at=now,
            completed_at=now,
        )
        session.add(row)
        await session.flush()
        backup_id = row.id
    verification = data_of(await api.client.post(f"/api/backups/{backup_id}/verify"), 202)

    async def crash_loop() -> None:
        async for _ in bus.jobs(queue, lease_s=1.0):
            pass

    crashing = asyncio.ensure_future(crash_loop())
    try:

        async def ended() -> dict[str, Any] | None:
            path = f"/api/verifications/{verification['id']}"
            record: dict[str, Any] = data_of(await api.client.get(path))
            return record if record["status"] == "failed" else None

        record: dict[str, Any] = await eventually(ended, timeout=40, interval=0.3)
    finally:
        crashing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await crashing
    assert f"all {JOB_MAX_DELIVER} deliveries stopped responding" in record["errorMessage"]
    backup = data_of(await api.client.get(f"/api/backups/{backup_id}"))
    assert backup["verificationStatus"] == "failed"
