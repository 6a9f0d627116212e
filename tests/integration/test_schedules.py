"""Schedules: REST CRUD and validation, next runs across DST, publication into the KV bucket,
and firing through real scheduler instances (two replicas) on a real nats-server."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifeboat.api.domain.schedules.firing import apply_fire
from lifeboat.scheduler.loop import offset_clock, run, watch_schedules
from lifeboat.scheduler.planner import Planner
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import BackupJob, ScheduleFired
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    error_of,
    eventually,
    serve_api,
)
from tests.support.executor_sim import finish_backup, next_job
from tests.support.schedules import (
    executions,
    kv_snapshot,
    new_database,
    new_schedule,
    offset_to_next_minute,
    scheduler_settings,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    settings = api_settings(tmp_path_factory.mktemp("api-schedules"), nats_url)
    async with serve_api(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-schedules")
    await connected.ensure_streams()
    yield connected
    await connected.close()


# --- REST -----------------------------------------------------------------------------------


async def test_crud_and_predefined_types(api: RunningApi) -> None:
    db = await new_database(api)
    daily = await new_schedule(api, db["id"])
    assert daily["cronExpression"] == "0 2 * * *"
    assert daily["timezone"] == "UTC"
    assert daily["enabled"] is True and daily["s3UploadEnabled"] is False
    assert daily["compression"] == "zstd" and daily["retryCount"] is None
    assert daily["databaseName"] == db["name"]
    assert daily["nextRunAt"] is not None and daily["lastFiredAt"] is None

    custom = await new_schedule(
        api,
        db["id"],
        scheduleType="custom",
        cronExpression="*/15  9-17 * * mon-fri",
        timezone="Europe/Berlin",
        compression="gzip",
        retryCount=3,
        retryDelaySeconds=30,
    )
    assert custom["cronExpression"] == "*/15 9-17 * * mon-fri"
    assert custom["nextRunAt"].endswith(("+01:00", "+02:00"))

    got = data_of(await api.client.get(f"/api/schedules/{custom['id']}"))
    assert got == custom
    listed = data_of(await api.client.get("/api/schedules", params={"databaseId": db["id"]}))
    assert [s["id"] for s in listed] == [daily["id"], custom["id"]]

    updated = data_of(
        await api.client.put(
            f"/api/schedules/{daily['id']}", json={"scheduleType": "weekly", "retryCount": 0}
        )
    )
    assert updated["cronExpression"] == "0 3 * * 0" and updated["retryCount"] == 0
    disabled = data_of(await api.client.post(f"/api/schedules/{daily['id']}/disable"))
    assert disabled["enabled"] is False and disabled["nextRunAt"] is None
    only_enabled = data_of(
        await api.client.get("/api/schedules", params={"databaseId": db["id"], "enabled": "true"})
    )
    assert [s["id"] for s in only_enabled] == [custom["id"]]
    enabled = data_of(await api.client.post(f"/api/schedules/{daily['id']}/enable"))
    assert enabled["enabled"] is True and enabled["nextRunAt"] is not None

    data_of(await api.client.delete(f"/api/schedules/{daily['id']}"))
    error_of(await api.client.get(f"/api/schedules/{daily['id']}"), 404, "NOT_FOUND")
    error_of(await api.client.post(f"/api/schedules/{daily['id']}/enable"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"scheduleType": "custom"}, "cronExpression is required"),
        ({"scheduleType": "custom", "cronExpression": "61 * * * *"}, "minute value 61"),
        ({"scheduleType": "custom", "cronExpression": "* * * *"}, "it has 4 fields"),
        ({"scheduleType": "custom", "cronExpression": "0 0 30 2 *"}, "never fires"),
        ({"scheduleType": "daily", "cronExpression": "0 5 * * *"}, "use scheduleType 'custom'"),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"timezone": "localtime"}, "unknown time zone"),
        ({"retryCount": -1}, "retryCount"),
        ({"scheduleType": "yearly"}, "scheduleType"),
        ({"retentionPolicyId": "nope"}, "retention policy nope not found"),
    ],
)
async def test_validation(api: RunningApi, fields: dict[str, Any], needle: str) -> None:
    db = await new_database(api)
    body = {"databaseConfigId": db["id"], "scheduleType": "daily", **fields}
    error = error_of(await api.client.post("/api/schedules", json=body), 400, "VALIDATION_ERROR")
    assert needle in error["message"], error
    # Details name the field as the client sent it (camelCase), whichever layer refused it.
    details: list[dict[str, Any]] = list(error.get("details") or [])
    fields_named: list[str | None] = [d.get("field") for d in details]
    assert all(f is None or "_" not in f for f in fields_named), error
    if needle == "minute value 61":
        assert fields_named == ["cronExpression"], error


async def test_storage_choices(api: RunningApi) -> None:
    """Where a schedule's backups go: its own S3 configuration, S3 only, never nowhere."""
    db = await new_database(api)
    config = data_of(
        await api.client.post(
            "/api/s3-configs",
            json={
                "name": f"sched-{db['id'][:8]}",
                "bucket": "sched-bucket",
                "accessKeyId": "AKIASCHEDULETEST",
                "secretAccessKey": "schedule-secret-0123456789",
            },
        ),
        201,
    )
    base = {"databaseConfigId": db["id"], "scheduleType": "daily"}
    nowhere = error_of(
        await api.client.post("/api/schedules", json={**base, "storeLocally": False}),
        400,
        "VALIDATION_ERROR",
    )
    assert nowhere["details"][0]["field"] == "storeLocally"
    unknown = error_of(
        await api.client.post(
            "/api/schedules", json={**base, "s3UploadEnabled": True, "s3ConfigId": "nope"}
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert unknown["details"][0]["field"] == "s3ConfigId"
    schedule = data_of(
        await api.client.post(
            "/api/schedules",
            json={
                **base,
                "s3UploadEnabled": True,
                "s3ConfigId": config["id"],
                "storeLocally": False,
            },
        ),
        201,
    )
    assert schedule["s3ConfigId"] == config["id"] and schedule["storeLocally"] is False
    # Turning S3 off would leave nothing: refused; the stored schedule is unchanged.
    error_of(
        await api.client.put(f"/api/schedules/{schedule['id']}", json={"s3UploadEnabled": False}),
        400,
        "VALIDATION_ERROR",
    )
    again = data_of(await api.client.get(f"/api/schedules/{schedule['id']}"))
    assert again["s3UploadEnabled"] is True
    # The configuration cannot go while the schedule sends its backups there.
    busy = error_of(await api.client.delete(f"/api/s3-configs/{config['id']}"), 409, "CONFLICT")
    assert busy["details"]["scheduleIds"] == [schedule["id"]]
    data_of(await api.client.delete(f"/api/schedules/{schedule['id']}"))
    data_of(await api.client.delete(f"/api/s3-configs/{config['id']}"))


async def test_validation_on_update_and_unknown_database(api: RunningApi) -> None:
    body = {"databaseConfigId": "missing", "scheduleType": "daily"}
    error = error_of(await api.client.post("/api/schedules", json=body), 400, "VALIDATION_ERROR")
    assert "database missing not found" in error["message"]
    db = await new_database(api)
    schedule = await new_schedule(api, db["id"])
    error = error_of(
        await api.client.put(
            f"/api/schedules/{schedule['id']}",
            json={"scheduleType": "custom", "cronExpression": "0 25 * * *"},
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert "hour value 25" in error["message"]
    error = error_of(
        await api.client.put(f"/api/schedules/{schedule['id']}", json={"timezone": "Nowhere/X"}),
        400,
        "VALIDATION_ERROR",
    )
    assert "unknown time zone" in error["message"]
    unchanged = data_of(await api.client.get(f"/api/schedules/{schedule['id']}"))
    assert unchanged["cronExpression"] == "0 2 * * *" and unchanged["timezone"] == "UTC"


async def test_next_runs(api: RunningApi) -> None:
    db = await new_database(api)
    schedule = await new_schedule(
        api, db["id"], scheduleType="custom", cronExpression="30 2 * * *", timezone="Europe/Berlin"
    )
    ten = data_of(await api.client.get(f"/api/schedules/{schedule['id']}/next-runs"))
    assert len(ten["runs"]) == 10 and ten["timezone"] == "Europe/Berlin"
    hundred = data_of(
        await api.client.get(f"/api/schedules/{schedule['id']}/next-runs", params={"count": 100})
    )["runs"]
    assert hundred[:10] == ten["runs"]
    days = [r[:10] for r in hundred]
    assert len(set(days)) == 100, "one run a day"
    assert {r[-6:] for r in hundred} <= {"+01:00", "+02:00"}
    for count in (0, 101):
        error_of(
            await api.client.get(
                f"/api/schedules/{schedule['id']}/next-runs", params={"count": count}
            ),
            400,
            "VALIDATION_ERROR",
        )


async def test_next_runs_across_dst_changes(api: RunningApi) -> None:
    # 02:30 Berlin on 25-31 March and October: the last Sunday of each month is a DST change,
    # within 30 runs whatever today is.
    params = {
        "cronExpression": "30 2 25-31 3,10 *",
        "timezone": "Europe/Berlin",
        "count": 30,
    }
    runs = data_of(await api.client.get("/api/schedules/next-runs", params=params))["runs"]
    parsed = [datetime.fromisoformat(r) for r in runs]
    assert all(b > a for a, b in itertools.pairwise(parsed))
    march = [r for r in parsed if r.month == 3]
    october = [r for r in parsed if r.month == 10]
    assert march and october
    # The spring-forward day's 02:30 does not exist: it runs at 03:00 CEST.
    assert any(r.hour == 3 and r.minute == 0 for r in march)
    # The fall-back day's 02:30 happens twice: it runs once (7 October days, 7 runs a year).
    assert len({r.date() for r in october}) == len(october)
    assert {r.utcoffset() for r in parsed} == {timedelta(hours=1), timedelta(hours=2)}


# --- publication to the schedulers ----------------------------------------------------------


async def test_kv_publication_follows_the_database(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    schedule = await new_schedule(
        api, db["id"], scheduleType="custom", cronExpression="5 4 * * *", timezone="Asia/Tokyo"
    )
    entry = (await kv_snapshot(bus))[schedule["id"]]
    assert entry.cron_expression == "5 4 * * *" and entry.timezone == "Asia/Tokyo"
    assert entry.last_fired_at is None

    await api.client.post(f"/api/schedules/{schedule['id']}/disable")
    assert schedule["id"] not in await kv_snapshot(bus)
    await api.client.post(f"/api/schedules/{schedule['id']}/enable")
    again = (await kv_snapshot(bus))[schedule["id"]]
    assert again.active_since > entry.active_since  # slots of the disabled time never fire
    await api.client.put(f"/api/schedules/{schedule['id']}", json={"cronExpression": "6 4 * * *"})
    assert (await kv_snapshot(bus))[schedule["id"]].cron_expression == "6 4 * * *"
    await api.client.delete(f"/api/schedules/{schedule['id']}")
    assert schedule["id"] not in await kv_snapshot(bus)


async def test_resync_repairs_the_bucket(api: RunningApi, bus: Bus) -> None:
    from lifeboat.api.domain.schedules.service import resync

    db = await new_database(api)
    schedule = await new_schedule(api, db["id"])
    await bus.kv_delete(subjects.SCHEDULES_KV, schedule["id"])
    await bus.kv_put(subjects.SCHEDULES_KV, "stale-schedule", b"{}")
    await resync(api.ctx, bus)
    snapshot = await kv_snapshot(bus)
    assert schedule["id"] in snapshot and "stale-schedule" not in snapshot


async def test_edits_reach_a_scheduler_within_a_second(api: RunningApi, bus: Bus) -> None:
    planner = Planner()
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_schedules(bus, planner, stop, rewatch_seconds=60))
    try:
        db = await new_database(api)
        schedule = await new_schedule(api, db["id"])

        async def known() -> bool:
            return schedule["id"] in planner.schedule_ids

        await eventually(known, timeout=5)
        started = time.monotonic()
        await api.client.post(f"/api/schedules/{schedule['id']}/disable")

        async def gone() -> bool:
            return schedule["id"] not in planner.schedule_ids

        await eventually(gone, timeout=1.0, interval=0.01)
        assert time.monotonic() - started < 1.0
        started = time.monotonic()
        await api.client.post(f"/api/schedules/{schedule['id']}/enable")
        await eventually(known, timeout=1.0, interval=0.01)
        assert time.monotonic() - started < 1.0
    finally:
        stop.set()
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher


# --- firing ----------------------------------------------------------------------------------


async def test_two_scheduler_replicas_fire_each_slot_once(
    api: RunningApi, bus: Bus, nats_url: str
) -> None:
    db = await new_database(api)
    schedule = await new_schedule(api, db["id"], scheduleType="custom", cronExpression="* * * * *")
    # Both replicas run just past the next minute boundary: its slot is due at once.
    offset = offset_to_next_minute()
    stop = asyncio.Event()
    replicas = [
        asyncio.create_task(run(scheduler_settings(nats_url, f"replica-{i}", offset), stop))
        for i in (1, 2)
    ]
    try:

        async def one_execution() -> list[dict[str, Any]]:
            return await executions(api, db["id"])

        found = await eventually(one_execution, timeout=15)
        await asyncio.sleep(1.5)  # both replicas had many ticks to fire again
        found = await executions(api, db["id"])
    finally:
        stop.set()
        await asyncio.gather(*replicas)
    assert len(found) == 1, found
    backup = found[0]
    assert backup["backupScheduleId"] == schedule["id"]
    assert backup["backupType"] == "custom" and backup["status"] == "pending"
    slot = datetime.fromisoformat(backup["scheduledFor"])
    assert slot.second == 0 and slot.microsecond == 0
    assert datetime.fromisoformat(schedule["createdAt"]) < slot < offset_clock(offset)()
    refreshed = data_of(await api.client.get(f"/api/schedules/{schedule['id']}"))
    assert datetime.fromisoformat(refreshed["lastFiredAt"]) == slot
    job = await next_job(bus, db["queue"])
    assert isinstance(job, BackupJob) and job.schedule_id == schedule["id"]
    await api.client.post(f"/api/schedules/{schedule['id']}/disable")


async def test_missed_slots_fire_once_after_downtime(
    api: RunningApi, bus: Bus, nats_url: str
) -> None:
    db = await new_database(api)
    schedule = await new_schedule(api, db["id"], scheduleType="custom", cronExpression="* * * * *")
    # No scheduler ran for "ten minutes": one starting now (clock ten minutes ahead) fires the
    # latest missed slot once, not ten times.
    stop = asyncio.Event()
    replica = asyncio.create_task(run(scheduler_settings(nats_url, "late", 600), stop))
    try:

        async def fired() -> list[dict[str, Any]]:
            return await executions(api, db["id"])

        await eventually(fired, timeout=15)
        await asyncio.sleep(1.0)
        found = await executions(api, db["id"])
    finally:
        stop.set()
        await replica
    assert len(found) == 1, found
    slot = datetime.fromisoformat(found[0]["scheduledFor"])
    assert slot > datetime.now(UTC) + timedelta(minutes=8)
    await api.client.post(f"/api/schedules/{schedule['id']}/disable")
    await next_job(bus, db["queue"])


async def test_fire_while_a_backup_runs_records_a_skip(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    schedule = await new_schedule(api, db["id"], enabled=False)
    await api.client.post(f"/api/schedules/{schedule['id']}/enable")
    manual = data_of(await api.client.post("/api/backups", json={"databaseId": db["id"]}), 202)
    slot = datetime.now(UTC).replace(microsecond=0)
    assert await bus.publish_fired(ScheduleFired(schedule_id=schedule["id"], slot=slot))

    async def skipped() -> list[dict[str, Any]]:
        return [e for e in await executions(api, db["id"]) if e["status"] == "skipped"]

    [skip] = await eventually(skipped)
    assert skip["backupScheduleId"] == schedule["id"]
    assert "already pending or running" in skip["errorMessage"]
    assert datetime.fromisoformat(skip["scheduledFor"]) == slot
    logs = data_of(await api.client.get(f"/api/backups/{skip['id']}/logs"))
    assert any("skipped" in line["message"] for line in logs)
    # The scheduler firing the same slot again is dropped by the server (message id).
    assert not await bus.publish_fired(ScheduleFired(schedule_id=schedule["id"], slot=slot))
    ids = {e["id"] for e in await executions(api, db["id"])}
    assert ids == {manual["id"], skip["id"]}
    await next_job(bus, db["queue"])


async def test_a_late_duplicate_fire_creates_nothing(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    schedule = await new_schedule(api, db["id"])
    fired = ScheduleFired(schedule_id=schedule["id"], slot=datetime.now(UTC).replace(microsecond=0))
    assert await apply_fire(api.ctx, fired) == "created"
    # Past the server's de-duplication window the API still sees the slot was handled.
    assert await apply_fire(api.ctx, fired) == "duplicate"
    assert len(await executions(api, db["id"])) == 1
    await api.client.post(f"/api/schedules/{schedule['id']}/disable")
    assert await apply_fire(api.ctx, fired) == "ignored"
    await next_job(bus, db["queue"])


async def test_failed_scheduled_backup_is_retried_with_backoff(api: RunningApi, bus: Bus) -> None:
    db = await new_database(api)
    schedule = await new_schedule(api, db["id"], retryCount=1, retryDelaySeconds=1)
    slot = datetime.now(UTC).replace(microsecond=0)
    assert await bus.publish_fired(ScheduleFired(schedule_id=schedule["id"], slot=slot))
    first = await next_job(bus, db["queue"])
    assert isinstance(first, BackupJob)
    failed_at = time.monotonic()
    await finish_backup(api, bus, first, ok=False)

    retry_job = await next_job(bus, db["queue"], timeout=15)
    assert time.monotonic() - failed_at >= 0.9  # the retry waited its delay
    assert isinstance(retry_job, BackupJob)
    retry = data_of(await api.client.get(f"/api/backups/{retry_job.execution_id}"))
    assert retry["retryOf"] == first.execution_id and retry["retryNumber"] == 1
    assert datetime.fromisoformat(retry["scheduledFor"]) == slot
    first_logs = data_of(await api.client.get(f"/api/backups/{first.execution_id}/logs"))
    assert any("retry 1 of 1" in line["message"] for line in first_logs)

    await finish_backup(api, bus, retry_job, ok=False)

    async def failed_twice() -> bool:
        rows = await executions(api, db["id"])
        return len(rows) == 2 and all(r["status"] == "failed" for r in rows)

    await eventually(failed_twice)
    await asyncio.sleep(2.5)  # no third attempt: the schedule allows one retry
    assert len(await executions(api, db["id"])) == 2
