"""A schedule fires on time through the real processes: scheduler → NATS → API → executor.

Runs the whole stack (scripts.devstack, as `just up`) against the machine's PostgreSQL. The
schedule runs every minute in the system's real time, so the test waits for the next minute
boundary (at most a minute) and then for the backup to complete.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.devstack import Stack
from tests.support.dbs import PG_PASSWORD, PG_USER, scratch_pg

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def ok(resp: httpx.Response, status: int = 200) -> Any:
    body = resp.json()
    assert resp.status_code == status, body
    assert body["success"] is True, body
    return body["data"]


def scheduled_backups(api: httpx.Client, database_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ok(api.get("/api/backups", params={"databaseId": database_id}))
    return [r for r in rows if r["backupScheduleId"]]


def test_schedule_fires_on_time_and_the_backup_completes(api: httpx.Client, stack: Stack) -> None:
    with scratch_pg("lbe_sched") as db:
        database = ok(
            api.post(
                "/api/databases",
                json={
                    "name": f"sched-{db.name}",
                    "type": "postgresql",
                    "host": db.host,
                    "port": db.port,
                    "databaseName": db.name,
                    "username": PG_USER,
                    "password": PG_PASSWORD,
                },
            ),
            201,
        )
        schedule = ok(
            api.post(
                "/api/schedules",
                json={
                    "databaseConfigId": database["id"],
                    "scheduleType": "custom",
                    "cronExpression": "* * * * *",
                    "timezone": "UTC",
                },
            ),
            201,
        )
        expected = datetime.fromisoformat(schedule["nextRunAt"])
        try:
            deadline = time.monotonic() + 90
            found: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                found = scheduled_backups(api, database["id"])
                if found and found[0]["status"] in ("completed", "failed"):
                    break
                time.sleep(0.25)
            assert found, "the schedule did not fire"
        finally:
            ok(api.post(f"/api/schedules/{schedule['id']}/disable"))
        backup = found[0]
        assert backup["status"] == "completed", backup.get("errorMessage")
        assert backup["backupScheduleId"] == schedule["id"]
        assert backup["backupType"] == "custom"
        slot = datetime.fromisoformat(backup["scheduledFor"])
        assert slot == expected.astimezone(UTC)
        # On time: the record was created within a few seconds of the slot.
        created = datetime.fromisoformat(backup["createdAt"])
        assert 0 <= (created - slot).total_seconds() < 5, (created, slot)
        path = Path(stack.data_dir, "backups", backup["localPath"])
        assert path.is_file() and Path(f"{path}.manifest.json").is_file()
        refreshed = ok(api.get(f"/api/schedules/{schedule['id']}"))
        assert datetime.fromisoformat(refreshed["lastFiredAt"]) == slot
        # Disabled: no further fire.
        assert len(scheduled_backups(api, database["id"])) == 1
