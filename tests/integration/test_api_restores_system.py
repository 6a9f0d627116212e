"""REST /api/restores, the event stream, the system and health endpoints, with simulated
executor events on a real nats-server (the backups' side: test_api_backups.py)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from lifeboat.core.crypto import Sealer
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import (
    BackupJob,
    ExecutionLogLine,
    ExecutionStarted,
    RestoreFinished,
    RestoreJob,
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
    complete,
    new_database,
    next_job,
    now,
    unique,
)


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(
        api_settings(tmp_path_factory.mktemp("api-restores"), nats_url)
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-restores")
    await connected.ensure_streams()
    yield connected
    await connected.close()


async def test_restore_flow(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    source = await new_database(api, queue)
    target = await new_database(api, queue, password="target-Pa55!")
    mysql = await new_database(api, queue, type="mysql", port=3306)
    data_of(await api.client.post("/api/backups", json={"databaseId": source["id"]}), 202)
    job, _ = await next_job(bus, queue)
    assert isinstance(job, BackupJob)
    content = b"restorable"
    backup = await complete(api, bus, job, content)

    body = {
        "databaseId": target["id"],
        "backupId": backup["id"],
        "options": {"clean": True, "noOwner": True},
    }
    restore = data_of(await api.client.post("/api/restores", json=body), 202)
    assert restore["status"] == "pending"
    assert restore["backupExecutionId"] == backup["id"]
    assert restore["initiatedBy"].startswith("token:")  # who started it
    assert restore["restoreOptions"]["clean"] is True
    assert restore["restoreOptions"]["exitOnError"] is True
    rjob, raw = await next_job(bus, queue)
    assert isinstance(rjob, RestoreJob)
    assert rjob.execution_id == restore["id"]
    assert rjob.source_path == backup["localPath"]
    assert rjob.expected_sha256 == hashlib.sha256(content).hexdigest()
    assert rjob.expected_size == len(content)
    assert rjob.options.clean and rjob.options.no_owner and not rjob.options.schema_only
    assert b"target-Pa55!" not in raw
    assert Sealer(TEST_SEAL_KEY).open(rjob.target.sealed_password, bound_to=rjob.execution_id) == (
        "target-Pa55!"
    )
    error_of(await api.client.post("/api/restores", json=body), 409, "CONFLICT")

    at = now()
    await bus.publish_event(
        "restore",
        ExecutionStarted(
            execution_id=rjob.execution_id, kind="restore", attempt=1, executor_id="e", at=at
        ),
    )
    await bus.publish_event(
        "restore",
        ExecutionLogLine(
            execution_id=rjob.execution_id,
            kind="restore",
            attempt=1,
            level="info",
            message="restoring",
            at=now(),
        ),
    )
    await bus.publish_event(
        "restore",
        RestoreFinished(
            execution_id=rjob.execution_id,
            attempt=1,
            ok=True,
            started_at=at,
            finished_at=at + timedelta(seconds=2),
        ),
    )

    async def restored() -> dict[str, Any] | None:
        record = data_of(await api.client.get(f"/api/restores/{restore['id']}"))
        return record if record["status"] == "completed" else None

    record = await eventually(restored)
    assert record["durationSeconds"] == 2
    assert [entry["message"] for entry in record["logs"]] == ["restoring"]
    logs = data_of(await api.client.get(f"/api/restores/{restore['id']}/logs?level=warn"))
    assert logs == []

    listed = data_of(await api.client.get("/api/restores", params={"databaseId": target["id"]}))
    assert [item["id"] for item in listed] == [restore["id"]]
    completed = await api.client.get("/api/restores", params={"status": "completed"})
    assert restore["id"] in [item["id"] for item in completed.json()["data"]]

    # Validation.
    both = {**body, "options": {"schemaOnly": True, "dataOnly": True}}
    error_of(await api.client.post("/api/restores", json=both), 400, "VALIDATION_ERROR")
    # The engines' rules, checked before queueing: data-only loads into existing tables.
    into_nothing = {**body, "options": {"dataOnly": True, "dropAndRecreate": True}}
    err = error_of(
        await api.client.post("/api/restores", json=into_nothing), 400, "VALIDATION_ERROR"
    )
    assert [d["field"] for d in err["details"]] == ["options.dataOnly", "options.dropAndRecreate"]
    cross = {"databaseId": mysql["id"], "backupId": backup["id"]}
    error_of(await api.client.post("/api/restores", json=cross), 400, "VALIDATION_ERROR")
    missing = {"databaseId": target["id"], "backupId": "nope"}
    error_of(await api.client.post("/api/restores", json=missing), 404, "NOT_FOUND")
    unknown_option = {**body, "options": {"bogus": True}}
    error_of(await api.client.post("/api/restores", json=unknown_option), 400, "VALIDATION_ERROR")
    error_of(await api.client.post("/api/restores/upload"), 400, "VALIDATION_ERROR")
    error_of(await api.client.get("/api/restores/nope"), 404, "NOT_FOUND")


async def test_event_stream_pushes_updates(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    db = await new_database(api, queue)
    received: list[str] = []

    async def listen() -> None:
        async with api.client.stream("GET", "/api/events/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    received.append(line)
                    if '"started"' in line:
                        return

    listener = asyncio.create_task(listen())
    await eventually(lambda: _subscribed(api))
    created = data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    await bus.publish_event(
        "backup",
        ExecutionStarted(
            execution_id=created["id"], kind="backup", attempt=1, executor_id="e", at=now()
        ),
    )
    await asyncio.wait_for(listener, 10)
    assert any(created["id"] in line and '"created"' in line for line in received)
    assert any(created["id"] in line and '"started"' in line for line in received)


async def _subscribed(api: RunningApi) -> bool:
    return api.ctx.hub.subscriber_count > 0


async def test_system_endpoints(api: RunningApi) -> None:
    status = data_of(await api.client.get("/api/system/status"))
    assert status["nats"]["connected"] is True
    assert status["disk"]["totalBytes"] > 0
    assert status["database"]["path"] == str(api.settings.database_path)
    assert status["uptimeSeconds"] >= 0
    stats = data_of(await api.client.get("/api/system/stats"))
    assert stats["totalBackups"] >= 1
    assert stats["databases"]["total"] >= 1
    assert set(stats["last24h"]) == {"total", "completed", "failed"}

    saved = data_of(
        await api.client.put(
            "/api/system/settings",
            json={
                "defaultCompression": "zstd",
                "keepLogsDays": 30,
                "darkMode": True,
                "extra": {"a": [1, 2]},
            },
        )
    )
    values = {item["key"]: (item["value"], item["valueType"]) for item in saved}
    assert values["defaultCompression"] == ("zstd", "string")
    assert values["keepLogsDays"] == (30, "number")
    assert values["darkMode"] == (True, "boolean")
    assert values["extra"] == ({"a": [1, 2]}, "json")
    again = data_of(await api.client.get("/api/system/settings"))
    assert again == saved
    error_of(
        await api.client.put("/api/system/settings", json={"bad key!": 1}), 400, "VALIDATION_ERROR"
    )

    vacuum = data_of(await api.client.post("/api/system/maintenance", json={"task": "vacuum"}))
    assert vacuum["task"] == "vacuum"
    cleanup = data_of(await api.client.post("/api/system/maintenance", json={"task": "cleanup"}))
    # No backup of this module has a retention policy: nothing to delete.
    assert cleanup["message"] == "retention deleted 0 backups"
    verify = data_of(await api.client.post("/api/system/maintenance", json={"task": "verify"}))
    assert verify["checked"] >= 1
    assert verify["checked"] == verify["ok"] + len(verify["problems"])
    error_of(
        await api.client.post("/api/system/maintenance", json={"task": "explode"}),
        400,
        "VALIDATION_ERROR",
    )


async def test_verify_detects_tampering(api: RunningApi, bus: Bus) -> None:
    queue = unique()
    db = await new_database(api, queue)
    data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    job, _ = await next_job(bus, queue)
    assert isinstance(job, BackupJob)
    done = await complete(api, bus, job, b"original")
    (api.settings.backup_storage_path / done["localPath"]).write_bytes(b"tampered")
    verify = data_of(await api.client.post("/api/system/maintenance", json={"task": "verify"}))
    problems = {p["id"]: p["problem"] for p in verify["problems"]}
    assert problems[done["id"]] == "checksum"


async def test_health(api: RunningApi) -> None:
    assert data_of(await api.client.get("/api/health/live"))["status"] == "ok"
    ready = data_of(await api.client.get("/api/health/ready"))
    assert ready["status"] == "ready"
    assert all(check["ok"] for check in ready["checks"].values())
