"""Retention end to end over a simulated year of hourly backups, on a fake clock.

A real API (SQLite, storage directory, the app served over HTTP) holds an hourly schedule whose
retention policy keeps hourly 24, daily 7, weekly 4, monthly 12 and yearly 2, under a hard limit
(``MAX_BACKUP_RETENTION_DAYS``) of 200 days. For every hour from 2024-07-01 to 2025-06-30 the
test stores what the executor and the API's event consumer would (the artifact and its
manifest, written by the storage library, and the backup record), sets the API's clock
(``ctx.clock``) to the completion time and runs the cleanup the API runs after a completed
backup (:func:`lifeboat.api.domain.retention.cleanup.after_backup_completed`, which deletes
through ``backups.service.delete_backup``). It does so after every backup in the last week and,
to keep the test under a minute or so, after the last backup of each day before that (the final
state is the same: tiers only ever let go of a backup as time passes). A few failed runs are
mixed in: they are never deleted and never cause a deletion.

At the end the surviving backups (records not soft-deleted, files on disk) must be exactly
those the tiers and the hard limit describe, computed here from their definitions (and checked
against the calendar); every other backup has lost its file and manifest and has an audit event
saying why.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from sqlalchemy import select

from lifeboat.api.db.auth_models import AuditEvent
from lifeboat.api.db.models import BackupExecution, new_id
from lifeboat.api.domain.retention.cleanup import (
    CleanupReport,
    after_backup_completed,
    cleanup_all,
)
from lifeboat.core.naming import backup_file_name, backup_relative_dir, manifest_name
from lifeboat.storage.base import join_name
from lifeboat.storage.local import LocalStore
from lifeboat.storage.manifest import Manifest
from tests.support.api import RunningApi, api_settings, data_of, database_body, serve_api

pytestmark = pytest.mark.integration

START = datetime(2024, 7, 1, tzinfo=UTC)
HOURS = 365 * 24
LAST = START + timedelta(hours=HOURS - 1)  # 2025-06-30 23:00
RUN_MINUTES = 5  # each backup completes 5 minutes after it starts
LIMIT_DAYS = 200  # MAX_BACKUP_RETENTION_DAYS of this API
TIERS: dict[str, int] = {"hourly": 24, "daily": 7, "weekly": 4, "monthly": 12, "yearly": 2}
DB_NAME = "shop"

# Hours whose run failed (no completed backup that hour): one inside the last day, so the hourly
# tier must reach one hour further back, and the last hour of March, so that the month keeps
# its 22:00 backup.
FAILED_HOURS = {datetime(2025, 6, 30, 10, tzinfo=UTC), datetime(2025, 3, 31, 23, tzinfo=UTC)}
# Failed runs in addition to that hour's completed one (a retry that failed, say); the last one
# is the newest run of all.
EXTRA_FAILURES = [
    datetime(2025, 5, 15, 12, 30, tzinfo=UTC),
    LAST + timedelta(minutes=30),
]
EVERY_RUN_FROM = (LAST - timedelta(days=6)).date()
CAP_REASON = f"older than MAX_BACKUP_RETENTION_DAYS ({LIMIT_DAYS} d)"
NOT_IN_TIER = "not kept by any tier"


class FakeClock:
    """What ``ctx.clock`` returns: set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """17,500 files and as many SQLite transactions: in memory when /dev/shm is there (file
    creation is some 20 times faster than on a VM disk), which changes nothing under test."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path_factory.mktemp("api-retention-year")
        return
    with tempfile.TemporaryDirectory(prefix="lifeboat-retention-year-", dir=shm) as scratch:
        yield Path(scratch)


@pytest.fixture(scope="module")
async def api(data_dir: Path, nats_url: str) -> AsyncIterator[RunningApi]:
    settings = api_settings(
        data_dir,
        nats_url,
        MAX_BACKUP_RETENTION_DAYS=str(LIMIT_DAYS),
        RETENTION_CLEANUP_INTERVAL="0 3 1 1 *",  # keep the periodic run out of the way
    )
    async with serve_api(settings) as running:
        yield running


# --------------------------------------------------------------------------- the expectation

_PERIOD: dict[str, Callable[[datetime], Hashable]] = {
    "hourly": lambda t: (t.date(), t.hour),
    "daily": lambda t: t.date(),
    "weekly": lambda t: t.isocalendar()[:2],  # ISO year and week, Monday to Sunday
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: t.year,
}


def expected_survivors(
    completed: dict[str, datetime], now: datetime, *, limit_days: int | None = LIMIT_DAYS
) -> set[str]:
    """SPEC §5.5.2 from its definitions: for each tier, the newest backup of each of the last N
    periods that have one; the newest backup always; nothing older than the hard limit."""
    newest_first = sorted(completed, key=lambda ident: completed[ident], reverse=True)
    kept = {newest_first[0]}
    for tier, count in TIERS.items():
        periods: set[Hashable] = set()
        for ident in newest_first:
            period = _PERIOD[tier](completed[ident])
            if period not in periods and len(periods) < count:
                periods.add(period)
                kept.add(ident)
    if limit_days is None:
        return kept
    cutoff = now - timedelta(days=limit_days)
    return {i for i in kept if i == newest_first[0] or completed[i] >= cutoff}


# --------------------------------------------------------------------------- the simulation


async def write_artifact(
    storage: LocalStore, row: BackupExecution, *, schedule_id: str, completed: datetime
) -> None:
    """The artifact and its manifest, as the executor writes them (storage library)."""
    started = row.started_at
    file_name = backup_file_name(
        database=DB_NAME,
        backup_type=row.backup_type,
        started_at=started,
        execution_id=row.id,
        extension="dump",
        compression="zstd",
    )
    content = f"dump of {DB_NAME} at {started.isoformat()}\n".encode()
    digest = hashlib.sha256(content).hexdigest()
    sink = await storage.open_sink(
        join_name(backup_relative_dir(database=DB_NAME, started_at=started), file_name)
    )
    await sink.write(content)
    await sink.commit(size=len(content), sha256=digest)
    await storage.write_manifest(
        sink.relative_path,
        Manifest(
            execution_id=row.id,
            database_label=DB_NAME,
            database_name="app",
            engine="postgresql",
            format="pg_dump-custom",
            compression="zstd",
            size_bytes=len(content),
            sha256=digest,
            backup_type=row.backup_type,
            schedule_id=schedule_id,
            file_name=file_name,
            started_at=started,
            completed_at=completed,
        ),
    )
    row.file_name = file_name
    row.file_size_bytes = len(content)
    row.local_path = sink.relative_path
    row.local_status = "completed"
    row.checksum = digest
    row.compression_used = "zstd"


async def store_runs(
    api: RunningApi,
    storage: LocalStore,
    runs: list[tuple[datetime, bool]],
    *,
    database_id: str,
    schedule_id: str,
) -> list[BackupExecution]:
    """What the executor and the API's event consumer leave behind after these scheduled runs
    (the records in one transaction)."""
    rows: list[BackupExecution] = []
    for started, ok in runs:
        completed = started + timedelta(minutes=RUN_MINUTES)
        row = BackupExecution(
            id=new_id(),
            database_config_id=database_id,
            backup_schedule_id=schedule_id,
            backup_type="hourly",
            status="completed" if ok else "failed",
            attempt=1,
            executor_id="sim",
            scheduled_for=started,
            started_at=started,
            completed_at=completed,
            duration_seconds=RUN_MINUTES * 60,
        )
        if ok:
            await write_artifact(storage, row, schedule_id=schedule_id, completed=completed)
        else:
            row.error_message = "pg_dump: simulated failure"
        rows.append(row)
    async with api.ctx.db.write() as session:
        session.add_all(rows)
    return rows


def runs_by_day() -> list[list[tuple[datetime, bool]]]:
    """Every run of the year in start order, (started_at, completed?), grouped by day."""
    hourly = [START + timedelta(hours=h) for h in range(HOURS)]
    stream = sorted(
        [(t, t not in FAILED_HOURS) for t in hourly] + [(t, False) for t in EXTRA_FAILURES]
    )
    days: dict[date, list[tuple[datetime, bool]]] = {}
    for started, ok in stream:
        days.setdefault(started.date(), []).append((started, ok))
    return list(days.values())


@pytest.mark.slow
async def test_a_year_of_hourly_backups(api: RunningApi) -> None:
    ctx = api.ctx
    clock = FakeClock(START)
    ctx.clock = clock
    database = data_of(
        await api.client.post("/api/databases", json=database_body(DB_NAME, "year")), 201
    )
    policy = data_of(
        await api.client.post(
            "/api/retention-policies",
            json={
                "name": "hierarchical",
                "mode": "count",
                "keepHourly": TIERS["hourly"],
                "keepDaily": TIERS["daily"],
                "keepWeekly": TIERS["weekly"],
                "keepMonthly": TIERS["monthly"],
                "keepYearly": TIERS["yearly"],
                "timezone": "UTC",
            },
        ),
        201,
    )
    schedule = data_of(
        await api.client.post(
            "/api/schedules",
            json={
                "databaseConfigId": database["id"],
                "scheduleType": "hourly",
                "retentionPolicyId": policy["id"],
            },
        ),
        201,
    )
    storage = LocalStore(api.settings.backup_storage_path)

    completed: dict[str, datetime] = {}
    failed: list[str] = []
    deleted: dict[str, list[str]] = {}

    def record(report: CleanupReport) -> None:
        assert not report.failed, report.failed
        assert not set(report.deleted) & set(deleted), "deleted twice"
        deleted.update(report.deleted)

    began = time.monotonic()
    cleanups = 0
    for day in runs_by_day():
        # The production rhythm, a cleanup after every completed backup, in the last week; once
        # a day (after the day's last completed backup) before, to keep the test fast.
        every_run = day[0][0].date() >= EVERY_RUN_FROM
        for batch in [[run] for run in day] if every_run else [day]:
            rows = await store_runs(
                api, storage, batch, database_id=database["id"], schedule_id=schedule["id"]
            )
            for row in rows:
                if row.status == "completed":
                    completed[row.id] = row.started_at
                    continue
                failed.append(row.id)
                # A failed run cleans nothing up, though backups await deletion (once a day).
                assert row.completed_at is not None
                clock.now = row.completed_at
                report = await after_backup_completed(ctx, row.id)
                assert report.deleted == {} and report.failed == {}
            done = [r for r in rows if r.status == "completed"]
            if not done:
                continue
            last = max(done, key=lambda r: r.started_at)
            assert last.completed_at is not None
            clock.now = last.completed_at
            report = await after_backup_completed(ctx, last.id)
            cleanups += 1
            assert last.id not in report.deleted
            record(report)
    elapsed = time.monotonic() - began
    print(f"\n{len(completed) + len(failed)} runs, {cleanups} cleanups: {elapsed:.1f} s")

    clock.now = max(started for started in EXTRA_FAILURES) + timedelta(minutes=RUN_MINUTES)
    now = clock.now
    assert now == LAST + timedelta(minutes=30 + RUN_MINUTES)
    expected = expected_survivors(completed, now)

    # The expectation on the calendar: 24 hourly backups (06-30 00:00-23:00 but 10:00, and
    # 06-29 23:00), 23:00 of 06-24..06-29 (daily), the Sundays 06-29, 06-22 and 06-15 (weekly:
    # 2025-W27 began Monday 06-30), the last backup of each month from December 2024 on (the
    # hard limit took July to November; March's is 22:00), 2024-12-31 23:00 for yearly 2024.
    hours = [LAST - timedelta(hours=h) for h in range(25) if h != 13]
    days = [datetime(2025, 6, d, 23, tzinfo=UTC) for d in range(24, 30)]
    sundays = [datetime(2025, 6, d, 23, tzinfo=UTC) for d in (29, 22, 15)]
    months = [
        datetime(2024, 12, 31, 23, tzinfo=UTC),
        datetime(2025, 1, 31, 23, tzinfo=UTC),
        datetime(2025, 2, 28, 23, tzinfo=UTC),
        datetime(2025, 3, 31, 22, tzinfo=UTC),
        datetime(2025, 4, 30, 23, tzinfo=UTC),
        datetime(2025, 5, 31, 23, tzinfo=UTC),
    ]
    assert {completed[i] for i in expected} == {*hours, *days, *sundays, *months}

    # The survivors in the database and on disk.
    async with ctx.db.read() as session:
        rows = {
            row.id: row
            for row in (
                await session.scalars(
                    select(BackupExecution).where(
                        BackupExecution.database_config_id == database["id"]
                    )
                )
            ).all()
        }
        audits = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "backup.retention_delete")
            )
        ).all()
    assert len(rows) == HOURS + len(EXTRA_FAILURES)
    alive = {i for i, row in rows.items() if row.deleted_at is None and row.status == "completed"}
    assert alive == expected
    assert set(deleted) == set(completed) - expected
    newest = max(completed, key=lambda i: completed[i])
    assert newest in alive

    root = api.settings.backup_storage_path
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    want_on_disk: set[str] = set()
    for ident in expected:
        local_path = rows[ident].local_path
        assert local_path is not None
        artifact = PurePosixPath(local_path)
        want_on_disk |= {local_path, str(artifact.with_name(manifest_name(artifact.name)))}
    assert on_disk == want_on_disk  # and nothing else: no stray file, manifest or temp file

    # Failed runs: never deleted, never audited.
    for ident in failed:
        assert rows[ident].status == "failed" and rows[ident].deleted_at is None
    assert not {e.target for e in audits} & set(failed)

    # Every deletion: soft-deleted record, file and manifest gone, audited with its reasons.
    audited: dict[str, dict[str, Any]] = {}
    for event in audits:
        assert event.target is not None and event.target not in audited
        audited[event.target] = json.loads(event.details or "{}")
    assert set(audited) == set(deleted)
    tiers_only = expected_survivors(completed, now, limit_days=None)
    for ident, reasons in deleted.items():
        row = rows[ident]
        assert row.deleted_at is not None
        assert row.local_path is not None
        artifact = root / row.local_path
        assert not artifact.exists()
        assert not artifact.with_name(manifest_name(artifact.name)).exists()
        details = audited[ident]
        assert details["reasons"] == reasons and reasons
        assert set(reasons) <= {NOT_IN_TIER, CAP_REASON}, reasons
        assert details["policyId"] == policy["id"] and details["databaseId"] == database["id"]
        assert details["trigger"].startswith("backup ")
        if ident in tiers_only:  # the tiers would still keep it: the hard limit took it
            assert reasons == [CAP_REASON]
    capped = {i for i, reasons in deleted.items() if CAP_REASON in reasons}
    assert {completed[i] for i in tiers_only - expected} == {
        datetime(2024, month, day, 23, tzinfo=UTC)
        for month, day in ((7, 31), (8, 31), (9, 30), (10, 31), (11, 30))
    }
    assert tiers_only - expected <= capped

    # Stable: a full cleanup now deletes nothing, and the preview keeps exactly the survivors,
    # saying why.
    assert (await cleanup_all(ctx, trigger="test")).deleted == {}
    preview = data_of(
        await api.client.post(
            f"/api/retention-policies/{policy['id']}/preview",
            json={"databaseId": database["id"]},
        )
    )
    assert preview["delete"] == []
    assert {k["backupId"] for k in preview["keep"]} == expected
    reasons_of = {k["backupId"]: k["reasons"] for k in preview["keep"]}
    assert reasons_of[newest] == [
        "newest",
        "hourly 2025-06-30 23:00",
        "daily 2025-06-30",
        "weekly 2025-W27",
        "monthly 2025-06",
        "yearly 2025",
    ]
    by_start = {completed[i]: i for i in expected}
    assert reasons_of[by_start[datetime(2024, 12, 31, 23, tzinfo=UTC)]] == [
        "monthly 2024-12",
        "yearly 2024",
    ]
    assert reasons_of[by_start[datetime(2025, 3, 31, 22, tzinfo=UTC)]] == ["monthly 2025-03"]
    assert reasons_of[by_start[datetime(2025, 6, 29, 23, tzinfo=UTC)]] == [
        "hourly 2025-06-29 23:00",
        "daily 2025-06-29",
        "weekly 2025-W26",
    ]
