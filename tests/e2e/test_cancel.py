"""Cancelling backups and restores, and a forged result, through the real processes.

One executor with concurrency 1 and a slowed ``zstd`` (tests/e2e/faultshim/: the real zstd,
rate-limited) so that a backup or restore is still running when the test cancels it, and a
second backup waits in the queue (pending) behind it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from lifeboat.wire import subjects
from lifeboat.wire.codec import encode
from lifeboat.wire.messages import BackupFinished
from scripts.devstack import Stack
from tests.support import dbs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHIM_DIR = Path(__file__).parent / "faultshim"


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    return {
        "EXECUTOR_TOOL_PATH": f"{SHIM_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAULTSHIM_ZSTD_COMPRESS_BPS": "150000",
        "FAULTSHIM_ZSTD_DECOMPRESS_BPS": "1500000",
        "EXECUTOR_CONCURRENCY": "1",
        "JOB_LEASE_SECONDS": "6",
        "JOB_HEARTBEAT_SECONDS": "1",
        "PARTIAL_FILE_MAX_AGE_SECONDS": "600",
        "SWEEP_INTERVAL_SECONDS": "1",
    }


@pytest.fixture(scope="module")
def source() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_pg("lbcancel") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE t (id int primary key, v text)")
            # Incompressible enough to make a few MB of zstd output.
            conn.execute(
                "INSERT INTO t SELECT g, md5(random()::text) || md5(random()::text)"
                " FROM generate_series(1, 60000) AS g"
            )
        yield db


def ok(resp: httpx.Response, status: int = 200) -> Any:
    body = resp.json()
    assert resp.status_code == status, body
    return body["data"]


def add_database(api: httpx.Client, db: dbs.ScratchDb, label: str = "") -> dict[str, Any]:
    body = {
        "name": f"cancel-{db.name}{label}",
        "type": "postgresql",
        "host": db.host,
        "port": db.port,
        "databaseName": db.name,
        "username": db.user,
        "password": db.password or "unused",
    }
    return ok(api.post("/api/databases", json=body), 201)


def wait_for(api: httpx.Client, path: str, statuses: set[str], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    record: Any = {}
    while time.monotonic() < deadline:
        record = ok(api.get(path))
        if record["status"] in statuses:
            return record
        time.sleep(0.2)
    raise AssertionError(f"{path} still {record.get('status')} after {timeout}s")


def partials(stack: Stack) -> list[Path]:
    return [p for p in (stack.data_dir / "backups").rglob(".*.part")]


def artifacts_of(stack: Stack, backup_id: str) -> list[Path]:
    return [p for p in (stack.data_dir / "backups").rglob(f"*{backup_id[:8]}*")]


def test_cancel_a_running_and_a_queued_backup(
    api: httpx.Client, stack: Stack, source: dbs.ScratchDb
) -> None:
    database = add_database(api, source)
    other = add_database(api, source, "-2")  # one backup per database at a time
    running = ok(api.post("/api/backups", json={"databaseId": database["id"]}), 202)
    wait_for(api, f"/api/backups/{running['id']}", {"running"})
    queued = ok(api.post("/api/backups", json={"databaseId": other["id"]}), 202)
    time.sleep(1.5)  # well into the dump
    assert ok(api.get(f"/api/backups/{queued['id']}"))["status"] == "pending"

    # The queued one ends at once; whichever executor takes it later drops it.
    cancelled = ok(api.post(f"/api/backups/{queued['id']}/cancel"), 202)
    assert cancelled["status"] == "cancelled"
    # The running one: the executor kills the dump and removes what it wrote.
    ok(api.post(f"/api/backups/{running['id']}/cancel"), 202)
    record = wait_for(
        api, f"/api/backups/{running['id']}", {"cancelled", "completed", "failed"}, 30
    )
    assert record["status"] == "cancelled", record
    assert not artifacts_of(stack, running["id"])
    assert not partials(stack)
    messages = [line["message"] for line in ok(api.get(f"/api/backups/{running['id']}/logs"))]
    assert any("Cancellation requested by" in m for m in messages), messages

    # The queued job reached the executor after the first one stopped: it did not run.
    time.sleep(3)
    assert ok(api.get(f"/api/backups/{queued['id']}"))["status"] == "cancelled"
    assert not artifacts_of(stack, queued["id"])

    # Ended executions cannot be cancelled; unknown ones are 404 (SPEC envelope).
    again = api.post(f"/api/backups/{running['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    missing = api.post("/api/backups/00000000-0000-0000-0000-000000000000/cancel")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


def test_cancel_a_running_restore(api: httpx.Client, stack: Stack, source: dbs.ScratchDb) -> None:
    del stack
    database = add_database(api, source, "-r")
    backup = ok(api.post("/api/backups", json={"databaseId": database["id"]}), 202)
    done = wait_for(api, f"/api/backups/{backup['id']}", {"completed", "failed"}, 120)
    assert done["status"] == "completed", done
    with dbs.scratch_pg("lbcancel_target") as target:
        target_db = add_database(api, target)
        restore = ok(
            api.post(
                "/api/restores",
                json={
                    "databaseId": target_db["id"],
                    "backupId": backup["id"],
                    "options": {"dropAndRecreate": True},
                },
            ),
            202,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
            if any("changing the target now" in line["message"] for line in logs):
                break
            time.sleep(0.2)
        ok(api.post(f"/api/restores/{restore['id']}/cancel"), 202)
        record = wait_for(
            api, f"/api/restores/{restore['id']}", {"cancelled", "completed", "failed"}, 30
        )
        assert record["status"] == "cancelled", record
        assert "may be partly restored" in (record["errorMessage"] or "")


def test_a_forged_result_changes_nothing(
    api: httpx.Client, stack: Stack, source: dbs.ScratchDb
) -> None:
    """A result naming a path outside the backup's own (``../../x``) is ignored by the API."""
    database = add_database(api, source, "-f")
    backup = ok(api.post("/api/backups", json={"databaseId": database["id"]}), 202)
    now = datetime.now(UTC)
    forged = BackupFinished(
        execution_id=backup["id"],
        attempt=99,
        ok=True,
        started_at=now,
        finished_at=now,
        file_name="x",
        relative_path="../../x",
        size_bytes=1,
        sha256="0" * 64,
        local_ok=True,
    )

    async def publish() -> None:
        nc = await nats.connect(stack.nats_url)
        try:
            await nc.jetstream().publish(
                subjects.event_subject("backup", backup["id"]), encode(forged)
            )
        finally:
            await nc.drain()

    asyncio.run(publish())
    record = wait_for(api, f"/api/backups/{backup['id']}", {"completed", "failed"}, 120)
    assert record["status"] == "completed"
    assert record["checksum"] != "0" * 64
    assert ".." not in (record["localPath"] or "")


def test_the_executor_sweeps_stale_partial_files(stack: Stack) -> None:
    """What a SIGKILLed writer left (a hidden ``.part`` file nobody touches any more) goes once
    it is older than PARTIAL_FILE_MAX_AGE_SECONDS; a live one (fresh mtime) stays."""
    directory = stack.data_dir / "backups" / "swept" / "2026" / "12"
    directory.mkdir(parents=True, exist_ok=True)
    stale = directory / ".swept_manual_20261202_000000_deadbeef.dump.zst.0123456789ab.part"
    live = directory / ".swept_manual_20261202_000001_feedface.dump.zst.ba9876543210.part"
    stale.write_bytes(b"left by a killed attempt")
    live.write_bytes(b"being written")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    deadline = time.monotonic() + 15
    while stale.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stale.exists()
    assert live.exists()
    live.unlink()
