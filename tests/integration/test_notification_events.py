"""Notifications of restores, S3 copies, missing executors and low disk, with a real
``json://`` receiver; executor results are simulated on a real nats-server (backup
notifications and the other receivers: test_notifications.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lifeboat.api.domain.executors.registry import ExecutorRegistry
from lifeboat.api.domain.notifications.monitor import (
    STARTUP_GRACE_S,
    MonitorState,
    check_disk,
    check_executors,
)
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import (
    BackupFinished,
    BackupJob,
    RestoreFinished,
    RestoreJob,
)
from tests.support.api import (
    RunningApi,
    data_of,
    eventually,
)
from tests.support.executor_sim import next_job
from tests.support.notify_api import (
    new_channel,
    new_database,
    run_backup,
    serve_notify_api,
    settled,
)
from tests.support.receivers import (
    HttpReceiver,
    http_receiver,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_notify_api(tmp_path_factory.mktemp("api-notify-events"), nats_url) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-notify")
    await connected.ensure_streams()
    yield connected
    await connected.close()


@pytest.fixture
def json_endpoint() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


async def test_restore_s3_executor_and_disk_events(
    api: RunningApi, bus: Bus, json_endpoint: HttpReceiver
) -> None:
    """``s3.failed`` from a backup result whose S3 copy failed, ``restore.failed`` and
    ``restore.completed`` from restore results, ``executor.missing`` for a scheduled queue no
    executor serves, ``disk.low`` below MIN_FREE_DISK_BYTES (each once)."""
    db = await new_database(api)
    channel = await new_channel(
        api,
        json_endpoint.url.replace("http", "json") + "/all",
        events=["s3.failed", "restore.failed", "restore.completed", "executor.missing", "disk.low"],
    )
    created = data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    job = await next_job(bus, db["queue"])
    assert isinstance(job, BackupJob)
    now = datetime.now(UTC)
    await bus.publish_event(
        "backup",
        BackupFinished(
            execution_id=job.execution_id,
            attempt=1,
            ok=True,
            started_at=now,
            finished_at=now,
            s3_ok=False,
            s3_error="AccessDenied: simulated",
        ),
    )

    async def s3_failed() -> bool | None:
        record = data_of(await api.client.get(f"/api/backups/{created['id']}"))
        return True if record["s3Status"] == "failed" else None

    await eventually(s3_failed)
    restorable = await run_backup(api, bus, db, ok=True)
    for ok in (False, True):
        restore = data_of(
            await api.client.post(
                "/api/restores", json={"databaseId": db["id"], "backupId": restorable}
            ),
            202,
        )
        rjob = await next_job(bus, db["queue"])
        assert isinstance(rjob, RestoreJob)
        await bus.publish_event(
            "restore",
            RestoreFinished(
                execution_id=rjob.execution_id,
                attempt=1,
                ok=ok,
                started_at=now,
                finished_at=datetime.now(UTC),
                error_message=None if ok else "psql: simulated failure",
            ),
        )

        async def finished(restore_id: str = restore["id"]) -> bool | None:
            record = data_of(await api.client.get(f"/api/restores/{restore_id}"))
            return True if record["status"] in ("completed", "failed") else None

        await eventually(finished)

    data_of(
        await api.client.post(
            "/api/schedules", json={"databaseConfigId": db["id"], "scheduleType": "daily"}
        ),
        201,
    )
    ctx, state = api.ctx, MonitorState()
    real_settings, real_start = ctx.settings, ctx.started_monotonic
    try:
        ctx.started_monotonic = real_start - STARTUP_GRACE_S  # past the start-up grace
        assert db["queue"] in await check_executors(ctx, ExecutorRegistry(), state)
        assert await check_executors(ctx, ExecutorRegistry(), state) == []  # once
        ctx.settings = replace(real_settings, min_free_disk_bytes=2**62)
        assert await check_disk(ctx, state) is True
        assert await check_disk(ctx, state) is False  # once, until there is room again
    finally:
        ctx.settings, ctx.started_monotonic = real_settings, real_start
    assert await check_disk(ctx, state) is False
    rows = await settled(api, channel, 5)
    events = sorted(r["event"] for r in rows)
    assert events.count("s3.failed") == 1
    assert events.count("restore.failed") == 1 and events.count("restore.completed") == 1
    assert events.count("disk.low") == 1
    # Other modules' scheduled queues may be reported too; this one exactly once.
    missing = [b for b in json_endpoint.bodies() if "No executor" in b["title"]]
    assert sum(db["queue"] in b["title"] for b in missing) == 1
