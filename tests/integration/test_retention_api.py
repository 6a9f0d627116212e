"""Retention policies: REST CRUD and validation, previews with reasons, and the cleanup that
runs after a completed backup (files, manifests, soft delete, log and audit) — never after a
failed one. Executor events are simulated on a real nats-server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lifeboat.api.db.auth_models import AuditEvent
from lifeboat.core.naming import manifest_name
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import BackupJob
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    error_of,
    eventually,
    serve_api,
)
from tests.support.executor_sim import finish_backup, next_job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    settings = api_settings(tmp_path_factory.mktemp("api-retention"), nats_url)
    async with serve_api(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-retention")
    await connected.ensure_streams()
    yield connected
    await connected.close()


def unique(prefix: str = "q") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def new_database(api: RunningApi) -> dict[str, Any]:
    body = database_body(unique("db-"), unique())
    return data_of(await api.client.post("/api/databases", json=body), 201)


async def new_policy(api: RunningApi, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("policy-"), **fields}
    return data_of(await api.client.post("/api/retention-policies", json=body), 201)


async def backup(
    api: RunningApi,
    bus: Bus,
    db: dict[str, Any],
    *,
    days_ago: float,
    ok: bool = True,
    policy_id: str | None = None,
) -> dict[str, Any]:
    """One manual backup of `db` that started `days_ago`, completed (or failed) by the sim."""
    body: dict[str, Any] = {"databaseId": db["id"]}
    if policy_id:
        body["retentionPolicyId"] = policy_id
    created = data_of(await api.client.post("/api/backups", json=body), 202)
    job = await next_job(bus, db["queue"])
    assert isinstance(job, BackupJob)
    started = datetime.now(UTC) - timedelta(days=days_ago)
    await finish_backup(api, bus, job, ok=ok, started_at=started, content=b"x" * 100)
    want = "completed" if ok else "failed"

    async def done() -> dict[str, Any] | None:
        record = data_of(await api.client.get(f"/api/backups/{created['id']}"))
        return record if record["status"] == want else None

    result: dict[str, Any] = await eventually(done)
    return result


def artifact(api: RunningApi, record: dict[str, Any]) -> Path:
    return api.settings.backup_storage_path / record["localPath"]


async def test_crud(api: RunningApi) -> None:
    created = await new_policy(api, description="tiers", keepHourly=0, keepDaily=3)
    assert created["mode"] == "count" and created["keepDaily"] == 3 and created["keepWeekly"] == 4
    assert created["timezone"] == "UTC" and created["scheduleCount"] == 0
    assert data_of(await api.client.get(f"/api/retention-policies/{created['id']}")) == created
    listed = data_of(await api.client.get("/api/retention-policies"))
    assert created["id"] in {p["id"] for p in listed}

    updated = data_of(
        await api.client.put(
            f"/api/retention-policies/{created['id']}",
            json={"mode": "hybrid", "maxAgeDays": 30, "timezone": "Europe/Paris"},
        )
    )
    assert updated["mode"] == "hybrid" and updated["maxAgeDays"] == 30
    assert updated["timezone"] == "Europe/Paris" and updated["description"] == "tiers"

    data_of(await api.client.delete(f"/api/retention-policies/{created['id']}"))
    error_of(await api.client.get(f"/api/retention-policies/{created['id']}"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"mode": "age"}, "maxAgeDays is required in age mode"),
        ({"mode": "size"}, "maxTotalBytes is required in size mode"),
        ({"mode": "forever"}, "mode"),
        ({"keepDaily": -1}, "keepDaily"),
        ({"maxAgeDays": 0}, "maxAgeDays"),
        ({"timezone": "Atlantis/Capital"}, "unknown time zone"),
        # MAX_BACKUP_RETENTION_DAYS (365 by default) caps maxAgeDays, in every mode.
        ({"mode": "age", "maxAgeDays": 366}, "maxAgeDays must be at most 365"),
        ({"mode": "count", "maxAgeDays": 1000}, "MAX_BACKUP_RETENTION_DAYS"),
    ],
)
async def test_validation(api: RunningApi, fields: dict[str, Any], needle: str) -> None:
    body = {"name": unique("bad-"), **fields}
    error = error_of(
        await api.client.post("/api/retention-policies", json=body), 400, "VALIDATION_ERROR"
    )
    assert needle in error["message"], error


async def test_update_must_stay_valid(api: RunningApi) -> None:
    policy = await new_policy(api)
    error = error_of(
        await api.client.put(f"/api/retention-policies/{policy['id']}", json={"mode": "age"}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"][0]["field"] == "maxAgeDays"
    assert data_of(await api.client.get(f"/api/retention-policies/{policy['id']}"))["mode"] == (
        "count"
    )
    error = error_of(
        await api.client.put(
            f"/api/retention-policies/{policy['id']}", json={"mode": "age", "maxAgeDays": 400}
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == [
        {"field": "maxAgeDays", "message": "must be at most 365 (MAX_BACKUP_RETENTION_DAYS)"}
    ]
    at_limit = {"mode": "hybrid", "maxAgeDays": 365}
    updated = data_of(
        await api.client.put(f"/api/retention-policies/{policy['id']}", json=at_limit)
    )
    assert updated["maxAgeDays"] == 365


async def test_delete_refused_while_a_schedule_uses_it(api: RunningApi) -> None:
    policy = await new_policy(api)
    db = await new_database(api)
    schedule = data_of(
        await api.client.post(
            "/api/schedules",
            json={
                "databaseConfigId": db["id"],
                "scheduleType": "daily",
                "retentionPolicyId": policy["id"],
            },
        ),
        201,
    )
    in_use = data_of(await api.client.get(f"/api/retention-policies/{policy['id']}"))
    assert in_use["scheduleCount"] == 1
    error = error_of(
        await api.client.delete(f"/api/retention-policies/{policy['id']}"), 409, "CONFLICT"
    )
    assert error["details"]["scheduleIds"] == [schedule["id"]]
    data_of(await api.client.delete(f"/api/schedules/{schedule['id']}"))
    data_of(await api.client.delete(f"/api/retention-policies/{policy['id']}"))


async def test_preview_says_why(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    old = await backup(api, bus, db, days_ago=10)
    middle = await backup(api, bus, db, days_ago=2)
    newest = await backup(api, bus, db, days_ago=0)
    await backup(api, bus, db, days_ago=1, ok=False)  # failed: never planned
    policy = await new_policy(
        api, keepHourly=0, keepDaily=2, keepWeekly=0, keepMonthly=0, keepYearly=0
    )
    preview = data_of(
        await api.client.post(
            f"/api/retention-policies/{policy['id']}/preview", json={"databaseId": db["id"]}
        )
    )
    assert [k["backupId"] for k in preview["keep"]] == [newest["id"], middle["id"]]
    assert [d["backupId"] for d in preview["delete"]] == [old["id"]]
    assert preview["keep"][0]["reasons"][0] == "newest"
    assert any(r.startswith("daily ") for r in preview["keep"][1]["reasons"])
    assert preview["delete"][0]["reasons"] == ["not kept by any tier"]

    by_age = await new_policy(api, mode="age", maxAgeDays=5)
    preview = data_of(
        await api.client.post(
            f"/api/retention-policies/{by_age['id']}/preview", json={"databaseId": db["id"]}
        )
    )
    assert preview["delete"][0]["reasons"] == ["older than 5 days"]
    assert "within 5 days" in preview["keep"][1]["reasons"]
    # A preview deletes nothing.
    assert artifact(api, old).is_file()
    error_of(
        await api.client.post(
            f"/api/retention-policies/{policy['id']}/preview", json={"databaseId": "nope"}
        ),
        400,
        "VALIDATION_ERROR",
    )


async def test_a_draft_policy_can_be_previewed_before_it_is_saved(
    api: RunningApi, bus: Bus
) -> None:
    db = await new_database(api)
    old = await backup(api, bus, db, days_ago=10)
    newest = await backup(api, bus, db, days_ago=0)
    before = data_of(await api.client.get("/api/retention-policies"))
    draft = {"name": "draft", "mode": "age", "maxAgeDays": 5}
    preview = data_of(
        await api.client.post(
            "/api/retention-policies/preview", json={"databaseId": db["id"], "policy": draft}
        )
    )
    assert preview["policyId"] is None
    assert [k["backupId"] for k in preview["keep"]] == [newest["id"]]
    assert [d["backupId"] for d in preview["delete"]] == [old["id"]]
    assert preview["delete"][0]["reasons"] == ["older than 5 days"]
    # Nothing saved, nothing deleted.
    assert data_of(await api.client.get("/api/retention-policies")) == before
    assert artifact(api, old).is_file()
    # Refused exactly like a create would be.
    for bad, field in (
        ({**draft, "maxAgeDays": 100_000}, "maxAgeDays"),
        ({**draft, "timezone": "Mars/Olympus"}, "timezone"),
    ):
        error = error_of(
            await api.client.post(
                "/api/retention-policies/preview", json={"databaseId": db["id"], "policy": bad}
            ),
            400,
            "VALIDATION_ERROR",
        )
        assert field in str(error), error


async def test_cleanup_after_a_completed_backup(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    policy = await new_policy(api, mode="age", maxAgeDays=3)
    old = [await backup(api, bus, db, days_ago=days) for days in (9, 6)]
    recent = await backup(api, bus, db, days_ago=1)
    files = [artifact(api, r) for r in old]
    assert all(f.is_file() for f in files)

    # A failed backup with the policy cleans nothing up.
    await backup(api, bus, db, days_ago=0.5, ok=False, policy_id=policy["id"])
    assert all(f.is_file() for f in files)

    latest = await backup(api, bus, db, days_ago=0, policy_id=policy["id"])

    async def cleaned() -> bool:
        return not any(f.exists() for f in files)

    await eventually(cleaned)
    for f in files:
        assert not f.with_name(manifest_name(f.name)).exists()
    for record in old:
        error_of(await api.client.get(f"/api/backups/{record['id']}"), 404, "NOT_FOUND")
    assert artifact(api, recent).is_file() and artifact(api, latest).is_file()
    kept = data_of(
        await api.client.get("/api/backups", params={"databaseId": db["id"], "status": "completed"})
    )
    assert {r["id"] for r in kept} == {recent["id"], latest["id"]}

    # What was deleted, and why, is on record.
    async with api.ctx.db.read() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "backup.retention_delete")
            )
        ).all()
    audited = {e.target: e.details or "" for e in events}
    for record in old:
        assert "older than 3 days" in audited[record["id"]]


async def test_newest_backup_is_never_deleted(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    policy = await new_policy(api, mode="size", maxTotalBytes=0)
    await backup(api, bus, db, days_ago=3)
    newest = await backup(api, bus, db, days_ago=0, policy_id=policy["id"])

    async def one_left() -> bool:
        rows = data_of(await api.client.get("/api/backups", params={"databaseId": db["id"]}))
        return [r["id"] for r in rows] == [newest["id"]]

    await eventually(one_left)
    assert artifact(api, newest).is_file()


async def test_maintenance_cleanup_applies_policies(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    policy = await new_policy(api, mode="age", maxAgeDays=1)
    old = await backup(api, bus, db, days_ago=5)
    await backup(api, bus, db, days_ago=0.1, policy_id=policy["id"])

    async def old_gone() -> bool:
        return not artifact(api, old).exists()

    await eventually(old_gone)
    result = data_of(await api.client.post("/api/system/maintenance", json={"task": "cleanup"}))
    assert "retention deleted 0 backups" in result["message"]


async def test_hard_limit_overrides_the_tiers(api: RunningApi, bus: Bus) -> None:
    """MAX_BACKUP_RETENTION_DAYS (365): a yearly tier does not keep a backup past it."""
    db = await new_database(api)
    policy = await new_policy(api, keepYearly=5)
    ancient = await backup(api, bus, db, days_ago=800)
    old = await backup(api, bus, db, days_ago=400)
    recent = await backup(api, bus, db, days_ago=200)
    preview = data_of(
        await api.client.post(
            f"/api/retention-policies/{policy['id']}/preview", json={"databaseId": db["id"]}
        )
    )
    reason = "older than MAX_BACKUP_RETENTION_DAYS (365 d)"
    assert {d["backupId"]: d["reasons"] for d in preview["delete"]} == {
        old["id"]: [reason],
        ancient["id"]: [reason],
    }
    assert [k["backupId"] for k in preview["keep"]] == [recent["id"]]

    latest = await backup(api, bus, db, days_ago=0, policy_id=policy["id"])

    async def capped() -> bool:
        return not artifact(api, old).exists() and not artifact(api, ancient).exists()

    await eventually(capped)
    assert artifact(api, recent).is_file() and artifact(api, latest).is_file()
    async with api.ctx.db.read() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "backup.retention_delete",
                    AuditEvent.target.in_([old["id"], ancient["id"]]),
                )
            )
        ).all()
    assert len(events) == 2 and all(reason in (e.details or "") for e in events)
