"""The list queries behind the UI's filters, sorting and charts: GET /api/backups (storage,
sort, order), GET /api/restores (source, date range, sort, order) and
GET /api/dashboard/backup-history, against a real API on SQLite and a real nats-server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifeboat.api.db.models import BackupExecution, RestoreExecution
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    error_of,
    serve_api,
)


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(api_settings(tmp_path_factory.mktemp("api-lists"), nats_url)) as running:
        yield running


def unique(prefix: str = "q") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def new_database(api: RunningApi) -> dict[str, Any]:
    return data_of(
        await api.client.post("/api/databases", json=database_body(unique("db-"), "default")), 201
    )


BASE = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


async def seed_backup(api: RunningApi, db_id: str, **row: Any) -> str:
    backup_id = str(uuid.uuid4())
    async with api.ctx.db.write() as session:
        session.add(
            BackupExecution(
                id=backup_id,
                database_config_id=db_id,
                queue="default",
                backup_type=row.get("type", "manual"),
                status=row.get("status", "completed"),
                started_at=row["started_at"],
                file_size_bytes=row.get("size"),
                duration_seconds=row.get("duration"),
                local_status=row.get("local"),
                s3_status=row.get("s3"),
                deleted_at=row.get("deleted_at"),
            )
        )
    return backup_id


async def seed_restore(api: RunningApi, db_id: str, **row: Any) -> str:
    restore_id = str(uuid.uuid4())
    async with api.ctx.db.write() as session:
        session.add(
            RestoreExecution(
                id=restore_id,
                database_config_id=db_id,
                queue="default",
                status=row.get("status", "completed"),
                source_type=row.get("source", "local"),
                started_at=row["started_at"],
                duration_seconds=row.get("duration"),
            )
        )
    return restore_id


async def ids(api: RunningApi, path: str, **params: Any) -> list[str]:
    return [item["id"] for item in data_of(await api.client.get(path, params=params))]


async def test_backups_storage_filter_and_sorting(api: RunningApi) -> None:
    db = await new_database(api)
    local_only = await seed_backup(
        api, db["id"], started_at=at(0), size=300, duration=5, local="completed"
    )
    both = await seed_backup(
        api, db["id"], started_at=at(1), size=100, duration=50, local="completed", s3="completed"
    )
    s3_only = await seed_backup(
        api, db["id"], started_at=at(2), size=200, duration=20, local="deleted", s3="completed"
    )
    s3_failed = await seed_backup(
        api, db["id"], started_at=at(3), size=50, duration=1, local="completed", s3="failed"
    )
    running = await seed_backup(api, db["id"], started_at=at(4), status="running", local="pending")
    await seed_backup(
        api, db["id"], started_at=at(5), size=999, local="completed", deleted_at=at(6)
    )

    def listing(**params: Any) -> Any:
        return ids(api, "/api/backups", databaseId=db["id"], **params)

    assert await listing() == [running, s3_failed, s3_only, both, local_only]
    assert await listing(storage="local") == [s3_failed, both, local_only]
    assert await listing(storage="s3") == [s3_only, both]
    assert await listing(storage="local-only") == [s3_failed, local_only]
    assert await listing(storage="s3", status="completed", startDate=at(1.5).isoformat()) == [
        s3_only
    ]

    assert await listing(sort="startedAt", order="asc") == [
        local_only,
        both,
        s3_only,
        s3_failed,
        running,
    ]
    # no size or duration yet (the running one): last in either direction
    assert await listing(sort="size", order="desc") == [
        local_only,
        s3_only,
        both,
        s3_failed,
        running,
    ]
    assert await listing(sort="size", order="asc") == [
        s3_failed,
        both,
        s3_only,
        local_only,
        running,
    ]
    assert await listing(sort="duration") == [both, s3_only, local_only, s3_failed, running]
    assert await listing(sort="duration", order="asc") == [
        s3_failed,
        local_only,
        s3_only,
        both,
        running,
    ]

    # sorting holds across pages
    first = await listing(sort="size", order="asc", limit=2, page=1)
    second = await listing(sort="size", order="asc", limit=2, page=2)
    assert first + second == [s3_failed, both, s3_only, local_only]
    meta = (
        await api.client.get(
            "/api/backups", params={"databaseId": db["id"], "storage": "s3", "limit": 1}
        )
    ).json()["meta"]
    assert meta["total"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "file_size_bytes"},
        {"sort": "id; DROP TABLE backup_executions"},
        {"order": "sideways"},
        {"storage": "tape"},
        {"type": "yearly"},
        {"status": "lost"},
        {"startDate": "yesterday"},
    ],
)
async def test_backups_bad_query_values_are_refused(
    api: RunningApi, params: dict[str, str]
) -> None:
    error = error_of(await api.client.get("/api/backups", params=params), 400, "VALIDATION_ERROR")
    assert error["message"]


async def test_restores_filters_and_sorting(api: RunningApi) -> None:
    db = await new_database(api)
    other = await new_database(api)
    old_local = await seed_restore(api, db["id"], started_at=at(0), source="local", duration=30)
    from_s3 = await seed_restore(api, db["id"], started_at=at(1), source="s3", duration=300)
    upload_failed = await seed_restore(
        api, db["id"], started_at=at(2), source="upload", status="failed", duration=3
    )
    running = await seed_restore(api, db["id"], started_at=at(3), source="local", status="running")
    elsewhere = await seed_restore(api, other["id"], started_at=at(1), source="s3", duration=10)

    def listing(**params: Any) -> Any:
        return ids(api, "/api/restores", databaseId=db["id"], **params)

    assert await listing() == [running, upload_failed, from_s3, old_local]
    assert await listing(source="s3") == [from_s3]
    window = await ids(
        api,
        "/api/restores",
        source="s3",
        startDate=at(0.5).isoformat(),
        endDate=at(1.5).isoformat(),
    )
    assert set(window) == {from_s3, elsewhere}
    assert await listing(source="upload", status="failed") == [upload_failed]
    assert await listing(startDate=at(1).isoformat(), endDate=at(2).isoformat()) == [
        upload_failed,
        from_s3,
    ]
    assert await listing(sort="startedAt", order="asc") == [
        old_local,
        from_s3,
        upload_failed,
        running,
    ]
    assert await listing(sort="duration") == [from_s3, old_local, upload_failed, running]
    assert await listing(sort="duration", order="asc") == [
        upload_failed,
        old_local,
        from_s3,
        running,
    ]
    meta = (
        await api.client.get("/api/restores", params={"databaseId": db["id"], "source": "local"})
    ).json()["meta"]
    assert meta["total"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "size"},  # restores have no size
        {"order": "up"},
        {"source": "ftp"},
        {"endDate": "soon"},
        {"startDate": "2025-06-02T00:00:00Z", "endDate": "2025-06-01T00:00:00Z"},
    ],
)
async def test_restores_bad_query_values_are_refused(
    api: RunningApi, params: dict[str, str]
) -> None:
    error_of(await api.client.get("/api/restores", params=params), 400, "VALIDATION_ERROR")


async def test_backup_history(api: RunningApi) -> None:
    db = await new_database(api)
    now = datetime.now(UTC)
    old = await seed_backup(api, db["id"], started_at=now - timedelta(days=40), size=1, duration=1)
    week = await seed_backup(
        api, db["id"], started_at=now - timedelta(days=7), size=1000, duration=12, local="completed"
    )
    await seed_backup(api, db["id"], started_at=now - timedelta(days=3), status="failed")
    removed = await seed_backup(
        api, db["id"], started_at=now - timedelta(days=2), size=2000, duration=20, deleted_at=now
    )
    today = await seed_backup(
        api, db["id"], started_at=now - timedelta(hours=1), size=3000, duration=30
    )

    history = data_of(
        await api.client.get("/api/dashboard/backup-history", params={"databaseId": db["id"]})
    )
    assert history["days"] == 30 and history["truncated"] is False
    points = history["points"]
    assert [point["id"] for point in points] == [
        week,
        removed,
        today,
    ]  # oldest first, completed only
    assert points[0] == {
        "id": week,
        "databaseConfigId": db["id"],
        "databaseName": db["name"],
        "backupType": "manual",
        "startedAt": points[0]["startedAt"],
        "fileSizeBytes": 1000,
        "durationSeconds": 12,
    }
    longer = data_of(
        await api.client.get(
            "/api/dashboard/backup-history", params={"databaseId": db["id"], "days": 60}
        )
    )
    assert longer["points"][0]["id"] == old
    short = data_of(
        await api.client.get(
            "/api/dashboard/backup-history", params={"databaseId": db["id"], "days": 1}
        )
    )
    assert [point["id"] for point in short["points"]] == [today]
    everything = data_of(await api.client.get("/api/dashboard/backup-history"))
    assert today in {point["id"] for point in everything["points"]}

    for bad in ({"days": "0"}, {"days": "367"}, {"days": "month"}):
        error_of(
            await api.client.get("/api/dashboard/backup-history", params=bad),
            400,
            "VALIDATION_ERROR",
        )
