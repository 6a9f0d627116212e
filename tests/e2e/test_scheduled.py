"""A schedule fires on time through the real processes: scheduler → NATS → API → executor,
with two scheduler replicas running; the backup lands locally and in S3 (moto server) from one
dump, and restoring it from S3 gives back the source database exactly.

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
from tests.e2e.test_s3_roundtrip import add_s3_config, make_bucket, pg_db, s3_objects
from tests.e2e.test_system_roundtrip import ok, wait_done
from tests.support.dbs import scratch_pg
from tests.support.richdb import build_rich_pg, pg_fingerprint

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack_services() -> tuple[str, ...]:
    return ("api", "scheduler", "scheduler#2", "executor")


def scheduled_backups(api: httpx.Client, database_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ok(api.get("/api/backups", params={"databaseId": database_id}))
    return [r for r in rows if r["backupScheduleId"]]


def test_scheduled_backup_lands_locally_and_in_s3_and_restores_from_s3(
    api: httpx.Client, stack: Stack, endpoint: str
) -> None:
    assert stack.procs["scheduler#2"].poll() is None  # two replicas are running
    bucket = make_bucket(endpoint)
    # The schedule names its configuration: the default one (another bucket) stays empty.
    elsewhere = make_bucket(endpoint)
    add_s3_config(api, endpoint, elsewhere, isDefault=True)
    config = add_s3_config(api, endpoint, bucket)
    with scratch_pg("lbe_sched") as src, scratch_pg("lbe_sched_dst") as dst:
        build_rich_pg(src.name)
        database, target = pg_db(api, src), pg_db(api, dst)
        schedule = ok(
            api.post(
                "/api/schedules",
                json={
                    "databaseConfigId": database["id"],
                    "scheduleType": "custom",
                    "cronExpression": "* * * * *",
                    "timezone": "UTC",
                    "s3UploadEnabled": True,
                    "s3ConfigId": config["id"],
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
        # On time: fired within a second; the record exists soon after (NATS → API → SQLite).
        created = datetime.fromisoformat(backup["createdAt"])
        assert 0 <= (created - slot).total_seconds() < 2, (created, slot)
        refreshed = ok(api.get(f"/api/schedules/{schedule['id']}"))
        assert datetime.fromisoformat(refreshed["lastFiredAt"]) == slot

        # Both copies, from one dump.
        assert backup["localStatus"] == "completed"
        path = Path(stack.data_dir, "backups", backup["localPath"])
        assert path.is_file() and Path(f"{path}.manifest.json").is_file()
        assert backup["s3Status"] == "completed", backup.get("s3Error")
        assert backup["s3Bucket"] == bucket
        objects = s3_objects(endpoint, bucket)
        assert set(objects) == {backup["s3Key"], f"{backup['s3Key']}.manifest.json"}
        assert objects[backup["s3Key"]]["backup-type"] == "custom"
        assert s3_objects(endpoint, elsewhere) == {}

        # Restored from the S3 copy (the local one removed), identical to the source.
        path.unlink()
        restore = ok(
            api.post(
                "/api/restores",
                json={
                    "databaseId": target["id"],
                    "backupId": backup["id"],
                    "source": "s3",
                    "options": {"dropAndRecreate": True},
                },
            ),
            202,
        )
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "completed", restore.get("errorMessage")
        assert restore["sourceType"] == "s3"
        assert pg_fingerprint(dst.name) == pg_fingerprint(src.name)

        # Two schedulers, one slot: exactly one backup (a late duplicate would show by now).
        assert len(scheduled_backups(api, database["id"])) == 1
        for name in ("scheduler", "scheduler#2"):
            assert stack.procs[name].poll() is None, f"{name} died"
