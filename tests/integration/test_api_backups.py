"""REST /api/backups and /api/restores with simulated executor events on a real nats-server."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifeboat.api.db.models import BackupExecution
from lifeboat.core.crypto import Sealer
from lifeboat.core.naming import manifest_name
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import (
    BackupFinished,
    BackupJob,
    ExecutionLogLine,
    ExecutionProgress,
    ExecutionStarted,
    LogLevel,
)
from tests.support.api import (
    TEST_SEAL_KEY,
    RunningApi,
    api_settings,
    data_of,
    error_of,
    eventually,
    serve_api,
)
from tests.support.backup_events import (
    PASSWORD,
    backup_of,
    complete,
    new_database,
    next_job,
    now,
    seed_backups,
    unique,
    wait_status,
)


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(api_settings(tmp_path_factory.mktemp("api-backups"), nats_url)) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-backups")
    await connected.ensure_streams()
    yield connected
    await connected.close()


async def test_backup_lifecycle(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    db = await new_database(api, queue)
    created = data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    assert created["status"] == "pending"
    assert created["backupType"] == "manual"
    assert created["databaseName"] == db["name"]
    assert created["compressionUsed"] == "zstd"
    assert created["fileName"].endswith(".dump.zst")

    job, raw = await next_job(bus, queue)
    assert isinstance(job, BackupJob)
    assert job.execution_id == created["id"]
    assert job.database_label == db["name"]
    assert job.target.database == "app" and job.target.host == "db.internal"
    assert job.file_name == created["fileName"]
    assert job.relative_dir.startswith(db["name"] + "/")
    # Sealed for this execution only; never in clear on the bus.
    assert PASSWORD.encode() not in raw
    sealer = Sealer(TEST_SEAL_KEY)
    assert sealer.open(job.target.sealed_password, bound_to=job.execution_id) == PASSWORD

    # A second backup while this one is pending is refused.
    error_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 409, "CONFLICT")

    at = now()
    await bus.publish_event(
        "backup",
        ExecutionStarted(
            execution_id=job.execution_id, kind="backup", attempt=1, executor_id="exec-1", at=at
        ),
    )
    running = await wait_status(api, job.execution_id, "running")
    assert running["attempt"] == 1 and running["executorId"] == "exec-1"
    error_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 409, "CONFLICT")
    error_of(await api.client.delete(f"/api/backups/{job.execution_id}"), 409, "CONFLICT")
    error_of(await api.client.get(f"/api/backups/{job.execution_id}/download"), 409, "CONFLICT")

    levels: list[tuple[LogLevel, str]] = [
        ("debug", "dbg"),
        ("info", "dumping"),
        ("warn", "slow"),
        ("error", "oops"),
    ]
    lines = [
        ExecutionLogLine(
            execution_id=job.execution_id,
            kind="backup",
            attempt=1,
            level=level,
            message=message,
            at=now(),
            metadata={"n": 1},
        )
        for level, message in levels
    ]
    for line in lines:
        await bus.publish_event("backup", line)
    # The same event delivered twice is stored once.
    await bus.publish_event("backup", lines[-1])
    await bus.publish_event(
        "backup",
        ExecutionProgress(
            execution_id=job.execution_id, kind="backup", attempt=1, bytes_done=1000, at=now()
        ),
    )

    async def progressed() -> bool:
        return (await backup_of(api, job.execution_id))["progressBytes"] == 1000

    await eventually(progressed)

    content = b"fake dump bytes " * 1000
    done = await complete(api, bus, job, content)
    assert done["fileSizeBytes"] == len(content)
    assert done["checksum"] == hashlib.sha256(content).hexdigest()
    assert done["localPath"] == f"{job.relative_dir}/{job.file_name}"
    assert done["durationSeconds"] == 3
    assert done["serverVersion"] == "PostgreSQL 16.4"
    assert done["toolVersion"] == "pg_dump 16.4"
    assert done["databaseSizeBytes"] == 4096
    assert done["completedAt"] is not None

    logs = done["logs"]
    assert [entry["message"] for entry in logs] == ["dbg", "dumping", "slow", "oops"]
    assert logs[0]["metadata"]["n"] == 1
    warn_up = data_of(await api.client.get(f"/api/backups/{job.execution_id}/logs?level=warn"))
    assert [entry["logLevel"] for entry in warn_up] == ["warn", "error"]
    errors = data_of(await api.client.get(f"/api/backups/{job.execution_id}/logs?level=error"))
    assert [entry["message"] for entry in errors] == ["oops"]

    download = await api.client.get(f"/api/backups/{job.execution_id}/download")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-length"] == str(len(content))
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment") and job.file_name in disposition

    error_of(
        await api.client.post(f"/api/backups/{job.execution_id}/upload-to-s3"),
        400,
        "VALIDATION_ERROR",
    )

    # A late result from the same attempt does not change a finished backup.
    await bus.publish_event(
        "backup",
        BackupFinished(
            execution_id=job.execution_id,
            attempt=1,
            ok=False,
            started_at=at,
            finished_at=now(),
            error_message="late duplicate",
        ),
    )
    marker = ExecutionLogLine(
        execution_id=job.execution_id,
        kind="backup",
        attempt=1,
        level="info",
        message="marker",
        at=now(),
    )
    await bus.publish_event("backup", marker)

    async def marker_seen() -> bool:
        entries = data_of(await api.client.get(f"/api/backups/{job.execution_id}/logs"))
        return any(entry["message"] == "marker" for entry in entries)

    await eventually(marker_seen)
    assert (await backup_of(api, job.execution_id))["status"] == "completed"

    # Soft delete removes the file and manifest; the record disappears from the API.
    artifact = api.settings.backup_storage_path / done["localPath"]
    assert artifact.exists()
    data_of(await api.client.delete(f"/api/backups/{job.execution_id}"))
    assert not artifact.exists()
    assert not artifact.with_name(manifest_name(artifact.name)).exists()
    error_of(await api.client.get(f"/api/backups/{job.execution_id}"), 404, "NOT_FOUND")
    listed = data_of(await api.client.get("/api/backups", params={"databaseId": db["id"]}))
    assert listed == []
    async with api.ctx.db.read() as session:
        row = await session.get(BackupExecution, job.execution_id)
        assert row is not None and row.deleted_at is not None


async def test_stale_attempt_is_ignored(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    db = await new_database(api, queue)
    created = data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    job, _ = await next_job(bus, queue)
    assert isinstance(job, BackupJob)
    at = now()
    await bus.publish_event(
        "backup",
        ExecutionStarted(
            execution_id=job.execution_id, kind="backup", attempt=2, executor_id="exec-B", at=at
        ),
    )
    await wait_status(api, created["id"], "running")
    # The executor that held attempt 1 lost its lease; its events must not count.
    await bus.publish_event(
        "backup",
        ExecutionStarted(
            execution_id=job.execution_id, kind="backup", attempt=1, executor_id="exec-A", at=at
        ),
    )
    await bus.publish_event(
        "backup",
        BackupFinished(
            execution_id=job.execution_id,
            attempt=1,
            ok=False,
            started_at=at,
            finished_at=now(),
            error_message="stale failure",
        ),
    )
    marker = ExecutionLogLine(
        execution_id=job.execution_id,
        kind="backup",
        attempt=2,
        level="info",
        message="after stale",
        at=now(),
    )
    await bus.publish_event("backup", marker)

    async def marker_seen() -> bool:
        entries = data_of(await api.client.get(f"/api/backups/{created['id']}/logs"))
        return any(entry["message"] == "after stale" for entry in entries)

    await eventually(marker_seen)
    record = await backup_of(api, created["id"])
    assert record["status"] == "running"
    assert record["attempt"] == 2 and record["executorId"] == "exec-B"
    assert record["errorMessage"] is None

    done = await complete(api, bus, job, b"data", attempt=2)
    assert done["attempt"] == 2


async def test_failed_backup_records_error(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    db = await new_database(api, queue)
    created = data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    at = now()
    await bus.publish_event(
        "backup",
        BackupFinished(
            execution_id=created["id"],
            attempt=1,
            ok=False,
            started_at=at,
            finished_at=at + timedelta(seconds=1),
            error_message="pg_dump: connection refused",
        ),
    )
    failed = await wait_status(api, created["id"], "failed")
    assert failed["errorMessage"] == "pg_dump: connection refused"
    # Failed: a new backup may start.
    data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)


async def test_create_validation(api: RunningApi) -> None:
    error_of(await api.client.post("/api/backups", json={"databaseId": "nope"}), 404, "NOT_FOUND")
    db = await new_database(api, unique(), enabled=False)
    error_of(
        await api.client.post("/api/backups", json={"databaseId": db["id"]}),
        400,
        "VALIDATION_ERROR",
    )
    db = await new_database(api, unique())
    error = error_of(
        await api.client.post("/api/backups", json={"databaseId": db["id"], "uploadToS3": True}),
        400,
        "VALIDATION_ERROR",
    )
    assert "S3 is not configured" in error["message"]
    error_of(
        await api.client.post(
            "/api/backups", json={"databaseId": db["id"], "retentionPolicyId": "missing"}
        ),
        400,
        "VALIDATION_ERROR",
    )
    error_of(
        await api.client.post("/api/backups", json={"databaseId": db["id"], "compression": "lz4"}),
        400,
        "VALIDATION_ERROR",
    )


async def test_gzip_compression(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    db = await new_database(api, queue, type="mysql", port=3306)
    created = data_of(
        await api.client.post("/api/backups", json={"databaseId": db["id"], "compression": "gzip"}),
        202,
    )
    assert created["fileName"].endswith(".sql.gz")
    job, _ = await next_job(bus, queue)
    assert isinstance(job, BackupJob) and job.compression == "gzip"
    assert job.target.engine == "mysql"


async def test_list_filters_and_pagination(api: RunningApi) -> None:
    db = await new_database(api, unique())
    other = await new_database(api, unique())
    base = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    ids = await seed_backups(
        api,
        db["id"],
        [
            {"started_at": base + timedelta(hours=i), "status": status, "type": kind}
            for i, (status, kind) in enumerate(
                [
                    ("completed", "daily"),
                    ("failed", "daily"),
                    ("completed", "hourly"),
                    ("completed", "manual"),
                    ("failed", "weekly"),
                    ("completed", "monthly"),
                    ("completed", "daily"),
                ]
            )
        ],
    )
    await seed_backups(
        api, db["id"], [{"started_at": base + timedelta(hours=50), "deleted_at": now()}]
    )
    await seed_backups(api, other["id"], [{"started_at": base}])

    async def listing(**params: Any) -> tuple[list[str], dict[str, Any]]:
        response = await api.client.get("/api/backups", params={"databaseId": db["id"], **params})
        body = response.json()
        assert response.status_code == 200, body
        return [item["id"] for item in body["data"]], body["meta"]

    all_ids, meta = await listing()
    assert all_ids == list(reversed(ids))  # newest first, deleted excluded
    assert meta["total"] == 7 and meta["page"] == 1 and meta["limit"] == 50

    first, meta = await listing(limit=3, page=1)
    second, _ = await listing(limit=3, page=2)
    third, _ = await listing(limit=3, page=3)
    assert meta["total"] == 7 and meta["limit"] == 3
    assert first + second + third == all_ids
    assert (await listing(limit=3, page=4))[0] == []

    failed, meta = await listing(status="failed")
    assert set(failed) == {ids[1], ids[4]} and meta["total"] == 2
    daily, _ = await listing(type="daily")
    assert set(daily) == {ids[0], ids[1], ids[6]}
    window, _ = await listing(
        startDate=(base + timedelta(hours=2)).isoformat(),
        endDate=(base + timedelta(hours=4)).isoformat(),
    )
    assert window == [ids[4], ids[3], ids[2]]
    naive, _ = await listing(startDate="2024-03-01T17:30:00")
    assert naive == [ids[6]]
    combined, _ = await listing(status="completed", type="daily", startDate=base.isoformat())
    assert set(combined) == {ids[0], ids[6]}

    every = data_of(await api.client.get("/api/backups", params={"limit": 200}))
    assert all(item["databaseName"] for item in every)


async def test_download_missing_file(api: RunningApi) -> None:
    db = await new_database(api, unique())
    [backup_id] = await seed_backups(api, db["id"], [{"started_at": now()}])
    async with api.ctx.db.write() as session:
        row = await session.get(BackupExecution, backup_id)
        assert row is not None
        row.local_path = "nowhere/file.dump.zst"
    error_of(await api.client.get(f"/api/backups/{backup_id}/download"), 404, "NOT_FOUND")
    error_of(await api.client.get("/api/backups/unknown/download"), 404, "NOT_FOUND")
