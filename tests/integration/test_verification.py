"""Verification restores end to end: API + in-process executor + nats-server + real PostgreSQL
and MariaDB.

A rich database is backed up through the API (its census recorded), then verified: the backup
is restored into a scratch database, counted and compared, and the scratch database dropped.
A good backup verifies; the same backup with a tampered recorded row count fails with the
table named; a day-old leftover scratch database is swept; no scratch database survives.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifeboat.api.db.models import BackupExecution
from lifeboat.core.scratch import scratch_name
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import ScheduleFired
from tests.support import dbs
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    error_of,
    eventually,
    serve_api,
)
from tests.support.natsd import free_port
from tests.support.richdb import build_rich_my, build_rich_pg
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY, run_moto
from tests.support.verification import (
    ENGINES,
    QUEUE,
    back_up,
    my_scratch_left,
    pg_scratch_left,
    serve_verify_api,
    verify,
    wait,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_verify_api(tmp_path_factory.mktemp("api-verify"), nats_url) as running:
        yield running


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> dict[str, Any]:
    return ENGINES[str(request.param)]


async def test_verification_passes_then_fails_on_tampered_counts(
    api: RunningApi, engine: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    scratch: Callable[[str], AbstractContextManager[dbs.ScratchDb]] = engine["scratch"]
    with scratch("lbverify") as db:
        engine["build"](db.name)
        expected_counts: dict[str, int] = engine["counts"](db.name)
        backup = await back_up(api, db)
        assert backup["status"] == "completed", backup["errorMessage"]
        assert backup["verificationStatus"] == "unverified"
        assert backup["recordedTables"] == len(expected_counts)
        assert backup["recordedRows"] == sum(expected_counts.values())

        # A leftover of a dead executor, two days old: the verification sweeps it.
        stale = scratch_name("dead-executor", datetime.now(UTC) - timedelta(days=2))
        engine["create"](stale)

        good = await verify(api, backup["id"])
        assert good["status"] == "completed", good["errorMessage"]
        assert good["summary"].startswith("verified ")
        assert f"{len(expected_counts)} tables" in good["summary"]
        assert good["mismatches"] == []
        assert any("Dropped leftover scratch databases" in line["message"] for line in good["logs"])
        record = data_of(await api.client.get(f"/api/backups/{backup['id']}"))
        assert record["verificationStatus"] == "verified"
        assert record["verificationSummary"] == good["summary"]
        assert record["verifiedAt"] is not None
        assert engine["left"]() == set(), "the scratch database must be dropped"

        # Tamper with the recorded census: one more row in one table than the dump holds.
        async with api.ctx.db.write() as session:
            row = await session.get(BackupExecution, backup["id"])
            assert row is not None and row.row_counts is not None
            counts: dict[str, int] = json.loads(row.row_counts)
            key = sorted(counts)[-1]
            counts[key] += 1
            row.row_counts = json.dumps(counts)
        with caplog.at_level(logging.WARNING, logger="lifeboat.api.domain.verifications"):
            bad = await verify(api, backup["id"])
        assert bad["status"] == "failed"
        assert f"table {key}" in bad["errorMessage"], bad["errorMessage"]
        assert any(key in m and "recorded" in m for m in bad["mismatches"])
        record = data_of(await api.client.get(f"/api/backups/{backup['id']}"))
        assert record["verificationStatus"] == "failed"
        assert key in record["verificationError"]
        assert any("verification.failed" in r.getMessage() for r in caplog.records)
        assert engine["left"]() == set(), "the scratch database must be dropped after a failure"

        # A restore that fails (the artifact is not the recorded one): failed with the reason,
        # scratch database dropped all the same.
        async with api.ctx.db.write() as session:
            row = await session.get(BackupExecution, backup["id"])
            assert row is not None
            row.checksum = "0" * 64
        broken = await verify(api, backup["id"])
        assert broken["status"] == "failed"
        assert "checksum" in broken["errorMessage"] or "sha256" in broken["errorMessage"], broken
        assert any("Dropped the scratch database" in line["message"] for line in broken["logs"])
        assert engine["left"]() == set(), "the scratch database must be dropped after a failure"


async def test_verify_refuses_unknown_and_uncounted_backups(api: RunningApi) -> None:
    error_of(await api.client.post("/api/backups/nope/verify"), 404, "NOT_FOUND")


@pytest.fixture(autouse=True)
def _no_scratch_left_behind() -> Iterator[None]:
    yield
    assert pg_scratch_left() == set() and my_scratch_left() == set()


async def test_schedule_takes_a_verification_option(api: RunningApi) -> None:
    body = {
        "name": "verify-schedule-db",
        "type": "postgresql",
        "host": "db.internal",
        "port": 5432,
        "databaseName": "app",
        "username": "app",
        "password": "",
        "queue": QUEUE,
        "skipConnectionTest": True,
    }
    config = data_of(await api.client.post("/api/databases", json=body), 201)
    schedule = {"databaseConfigId": config["id"], "scheduleType": "daily", "enabled": False}
    created = data_of(
        await api.client.post("/api/schedules", json={**schedule, "verifyEvery": "weekly"}), 201
    )
    assert created["verifyEvery"] == "weekly"
    updated = data_of(
        await api.client.put(f"/api/schedules/{created['id']}", json={"verifyEvery": "each"})
    )
    assert updated["verifyEvery"] == "each"
    default = data_of(await api.client.post("/api/schedules", json=schedule), 201)
    assert default["verifyEvery"] == "none"
    error_of(
        await api.client.post("/api/schedules", json={**schedule, "verifyEvery": "hourly"}),
        400,
        "VALIDATION_ERROR",
    )


async def test_a_schedule_verifies_its_backups_at_most_daily(
    api: RunningApi, nats_url: str
) -> None:
    bus = await Bus.connect(nats_url, name="itest-verify-fires")
    try:
        with dbs.scratch_pg("lbverifysched") as db:
            build_rich_pg(db.name)
            body = {
                "name": f"verify-{db.name}",
                "type": "postgresql",
                "host": db.host,
                "port": db.port,
                "databaseName": db.name,
                "username": db.user,
                "password": db.password,
                "queue": QUEUE,
                "skipConnectionTest": True,
            }
            config = data_of(await api.client.post("/api/databases", json=body), 201)
            schedule = data_of(
                await api.client.post(
                    "/api/schedules",
                    json={
                        "databaseConfigId": config["id"],
                        "scheduleType": "daily",
                        "verifyEvery": "daily",
                    },
                ),
                201,
            )
            backups: list[dict[str, Any]] = []
            for offset in (1, 2):
                slot = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=offset)
                assert await bus.publish_fired(ScheduleFired(schedule_id=schedule["id"], slot=slot))

                async def completed(n: int = offset) -> list[dict[str, Any]] | None:
                    query = f"/api/backups?databaseId={config['id']}&status=completed"
                    found: list[dict[str, Any]] = data_of(await api.client.get(query))
                    return found if len(found) >= n else None

                backups = await eventually(completed, timeout=120, interval=0.2)
                if offset == 1:
                    first = await wait(
                        api,
                        f"/api/backups/{backups[0]['id']}",
                        lambda r: r["verificationStatus"] in ("verified", "failed"),
                    )
                    assert first["verificationStatus"] == "verified", first["verificationError"]
                    verification = data_of(
                        await api.client.get(f"/api/verifications/{first['verificationId']}")
                    )
                    assert verification["initiatedBy"] == f"schedule:{schedule['id']}"
            # The second backup of the day is not verified again ("daily").
            await asyncio.sleep(1.0)
            newest = data_of(await api.client.get(f"/api/backups/{backups[0]['id']}"))
            assert newest["verificationStatus"] == "unverified" and newest["verificationId"] is None
            await api.client.delete(f"/api/schedules/{schedule['id']}")
    finally:
        await bus.close()


async def test_verification_goes_to_the_configured_verification_database(api: RunningApi) -> None:
    with dbs.scratch_pg("lbverifytarget") as db:
        build_rich_pg(db.name)
        backup = await back_up(api, db)
        config_id = backup["databaseConfigId"]

        async def config(**overrides: Any) -> str:
            body = {
                "name": f"target-{overrides.get('port', 0)}-{overrides.get('type', 'pg')}",
                "type": "postgresql",
                "host": db.host,
                "port": db.port,
                "databaseName": "postgres",
                "username": db.user,
                "password": db.password,
                "queue": QUEUE,
                "skipConnectionTest": True,
                **overrides,
            }
            return str(data_of(await api.client.post("/api/databases", json=body), 201)["id"])

        path = f"/api/databases/{config_id}/verification-target"
        unreachable = await config(port=1)
        set_to = data_of(await api.client.put(path, json={"verificationDatabaseId": unreachable}))
        assert set_to["verificationDatabaseId"] == unreachable
        failed = await verify(api, backup["id"])
        assert failed["status"] == "failed"
        assert "127.0.0.1" in failed["errorMessage"] or "port 1" in failed["errorMessage"], failed
        assert any(":1" in line["message"] for line in failed["logs"])

        other_server = await config(port=db.port)
        data_of(await api.client.put(path, json={"verificationDatabaseId": other_server}))
        passed = await verify(api, backup["id"])
        assert passed["status"] == "completed", passed["errorMessage"]

        mysql = await config(type="mysql", port=3306)
        error_of(
            await api.client.put(path, json={"verificationDatabaseId": mysql}),
            400,
            "VALIDATION_ERROR",
        )
        error_of(
            await api.client.put(path, json={"verificationDatabaseId": config_id}),
            400,
            "VALIDATION_ERROR",
        )
        error_of(
            await api.client.put(path, json={"verificationDatabaseId": "nope"}), 404, "NOT_FOUND"
        )
        cleared = data_of(await api.client.put(path, json={"verificationDatabaseId": None}))
        assert cleared["verificationDatabaseId"] is None


async def test_a_verification_that_cannot_be_queued_fails_the_record(
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """queue_job's compensation: 503 naming the verification, which ends failed, and the
    backup says its verification failed (a ``verification.failed`` event)."""
    url = f"nats://127.0.0.1:{free_port()}"  # nobody listens there
    settings = api_settings(tmp_path_factory.mktemp("api-verify-no-nats"), url)
    async with serve_api(settings, wait_for_nats=False) as api:
        db = data_of(await api.client.post("/api/databases", json=database_body("lone", "q")), 201)
        async with api.ctx.db.write() as session:
            now = datetime.now(UTC)
            row = BackupExecution(
                database_config_id=db["id"],
                backup_type="manual",
                status="completed",
                local_status="completed",
                local_path="lone/2026/12/lone.dump.zst",
                file_name="lone.dump.zst",
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
        with caplog.at_level(logging.WARNING, logger="lifeboat.api.domain.verifications"):
            error = error_of(
                await api.client.post(f"/api/backups/{backup_id}/verify"),
                503,
                "SERVICE_UNAVAILABLE",
            )
        assert error["message"].startswith("could not queue the verification job: ")
        verification = data_of(
            await api.client.get(f"/api/verifications/{error['details']['executionId']}")
        )
        assert verification["status"] == "failed"
        assert verification["errorMessage"] == error["message"]
        backup = data_of(await api.client.get(f"/api/backups/{backup_id}"))
        assert backup["verificationStatus"] == "failed"
        assert any("verification.failed" in r.getMessage() for r in caplog.records)
        # Not left pending: asking again is not refused as "already running" (409).
        again = await api.client.post(f"/api/backups/{backup_id}/verify")
        error_of(again, 503, "SERVICE_UNAVAILABLE")


async def test_cancelling_a_queued_verification_keeps_the_earlier_verdict(
    api: RunningApi,
) -> None:
    """No executor serves the queue: the verification stays pending until cancelled; the backup
    then shows its earlier verdict again."""
    body = database_body("verify-nobody-serves", "nobody-serves")
    db = data_of(await api.client.post("/api/databases", json=body), 201)
    async with api.ctx.db.write() as session:
        now = datetime.now(UTC)
        row = BackupExecution(
            database_config_id=db["id"],
            backup_type="manual",
            status="completed",
            local_status="completed",
            local_path="lone/2026/12/lone.dump.zst",
            file_name="lone.dump.zst",
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
    started = data_of(await api.client.post(f"/api/backups/{backup_id}/verify"), 202)
    assert data_of(await api.client.get(f"/api/backups/{backup_id}"))["verificationStatus"] == (
        "running"
    )
    error_of(await api.client.post(f"/api/backups/{backup_id}/verify"), 409, "CONFLICT")
    cancelled = data_of(await api.client.post(f"/api/verifications/{started['id']}/cancel"), 202)
    assert cancelled["status"] == "cancelled"
    assert any("Cancelled by" in line["message"] for line in cancelled["logs"])
    backup = data_of(await api.client.get(f"/api/backups/{backup_id}"))
    assert backup["verificationStatus"] == "unverified"
    error_of(await api.client.post(f"/api/verifications/{started['id']}/cancel"), 409, "CONFLICT")


async def test_an_s3_only_backup_is_downloaded_and_verified(api: RunningApi) -> None:
    """MariaDB backed up to S3 only (moto): the executor downloads and checks the object, then
    verifies it like a local one."""
    with run_moto() as endpoint, dbs.scratch_my("lbverifys3") as db:
        bucket = f"lb-verify-{uuid.uuid4().hex[:10]}"
        settings = S3Settings(
            bucket=bucket,
            access_key_id=TEST_ACCESS_KEY,
            secret_access_key=TEST_SECRET_KEY,
            endpoint_url=endpoint,
            addressing_style="path",
        )
        async with S3Store(settings) as store:

            async def create(client: Any) -> None:
                await client.create_bucket(Bucket=bucket)

            await store.call("CreateBucket", None, create)
        data_of(
            await api.client.put("/api/system/settings", json={"allow_private_endpoints": True})
        )
        s3_body = {
            "name": f"verify-{bucket}",
            "bucket": bucket,
            "region": "us-east-1",
            "endpoint": endpoint,
            "accessKeyId": TEST_ACCESS_KEY,
            "secretAccessKey": TEST_SECRET_KEY,
            "addressingStyle": "path",
        }
        s3_config = data_of(await api.client.post("/api/s3-configs", json=s3_body), 201)
        build_rich_my(db.name)
        body = {
            "name": f"verify-{db.name}",
            "type": db.engine,
            "host": db.host,
            "port": db.port,
            "databaseName": db.name,
            "username": db.user,
            "password": db.password,
            "queue": QUEUE,
            "skipConnectionTest": True,
        }
        config = data_of(await api.client.post("/api/databases", json=body), 201)
        request = {
            "databaseId": config["id"],
            "uploadToS3": True,
            "s3ConfigId": s3_config["id"],
            "storeLocally": False,
        }
        started = data_of(await api.client.post("/api/backups", json=request), 202)
        backup = await wait(
            api, f"/api/backups/{started['id']}", lambda r: r["status"] in ("completed", "failed")
        )
        assert backup["status"] == "completed" and backup["localStatus"] is None, backup
        verified = await verify(api, backup["id"])
        assert verified["status"] == "completed", verified["errorMessage"]
        assert any("Downloading s3://" in line["message"] for line in verified["logs"])
        assert my_scratch_left() == set()
