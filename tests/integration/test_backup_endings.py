"""How a backup attempt ends when it may not keep what it wrote, or cannot remove what
earlier attempts left: the executor's backup code with the real pieces (the leases bucket on a
real nats-server, pg_dump on the machine's PostgreSQL, local storage, and moto's S3 server
behind an HTTP front that refuses chosen requests; see tests/support/backup_run.py).

Every test checks what is left on disk and in the bucket, and what the attempt reports.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lifeboat.core.errors import FencedError, JobCancelledError
from lifeboat.core.naming import attempt_file_name, attempt_s3_key
from lifeboat.executor import backup
from lifeboat.executor.backup import run_backup
from lifeboat.executor.context import Context
from lifeboat.executor.outcome import record
from lifeboat.wire.bus import Bus
from lifeboat.wire.lease import request_cancel
from lifeboat.wire.messages import BackupFinished
from tests.support import dbs
from tests.support.backup_run import (
    MANIFEST,
    Bucket,
    InterruptedFence,
    Recorded,
    backup_job,
    claimed,
    executor_context,
    fencing_bus,
    leave_s3_object,
    local_files,
    new_bucket,
    objects,
    run,
)
from tests.support.s3 import Rule, refuse, run_moto

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    async with fencing_bus(nats_url, "test-backup-endings") as connected:
        yield connected


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    return executor_context(tmp_path_factory.mktemp("backup-endings"))


@pytest.fixture(scope="module")
def source() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_pg("lbendings") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE t (id int primary key, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g")
        yield db


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with run_moto() as url:
        yield url


@pytest.fixture
def rules() -> list[Rule]:
    """What the S3 front refuses during one test (nothing unless the test adds rules)."""
    return []


@pytest.fixture
async def s3(moto: str, rules: list[Rule]) -> AsyncIterator[Bucket]:
    async with new_bucket(moto, rules) as bucket:
        yield bucket


# --- fenced or cancelled right before the manifests -----------------------------------------


@pytest.mark.parametrize("stop", ["fenced", "cancelled"])
async def test_an_attempt_stopped_before_its_manifests_removes_its_published_copies(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket, stop: str
) -> None:
    """Both copies are published (each hold passed), then another attempt takes the job over
    or the user cancels it: the hold before the manifests fails, and the attempt removes both
    copies before it re-raises — no file, object or manifest of it is left."""
    job = backup_job(source, s3)
    first = await claimed(bus, job.execution_id, 1)

    async def interrupt() -> None:
        if stop == "fenced":
            await claimed(bus, job.execution_id, 2)
        else:
            await request_cancel(bus, job.execution_id, by="alice@example.com")

    fence = InterruptedFence(first, after=2, then=interrupt)  # the S3 and the local commit
    expected = FencedError if stop == "fenced" else JobCancelledError
    with pytest.raises(expected):
        await run(ctx, bus, job, fence)
    assert fence.holds == 2  # both copies were published before the manifests' hold failed
    assert local_files(ctx, job) == []
    assert await objects(s3, job) == []


# --- a result that may not be recorded: its copies are withdrawn ----------------------------


async def test_a_backup_fenced_when_recording_withdraws_both_copies(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket
) -> None:
    job = backup_job(source, s3)
    fence = await claimed(bus, job.execution_id, 1)
    rep = Recorded(bus, job.execution_id, 1)
    done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert done.ok and done.local_ok and done.s3_ok, done.error_message
    assert local_files(ctx, job) == [job.file_name, job.file_name + MANIFEST]
    assert job.s3 is not None
    assert await objects(s3, job) == [job.s3.key, job.s3.key + MANIFEST]

    await claimed(bus, job.execution_id, 2)  # a newer attempt owns the record now
    assert await record(ctx, job, fence, rep, done) is None
    assert local_files(ctx, job) == []
    assert await objects(s3, job) == []


async def test_a_backup_cancelled_when_recording_withdraws_its_copies_and_says_cancelled(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket
) -> None:
    job = backup_job(source, s3)
    fence = await claimed(bus, job.execution_id, 1)
    rep = Recorded(bus, job.execution_id, 1)
    done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert done.ok, done.error_message

    await request_cancel(bus, job.execution_id, by="alice@example.com")
    stopped = await record(ctx, job, fence, rep, done)
    assert isinstance(stopped, BackupFinished)
    assert not stopped.ok and stopped.cancelled
    assert stopped.relative_path is None
    assert rep.said("warn")[-1] == "Cancelled"
    assert local_files(ctx, job) == []
    assert await objects(s3, job) == []


async def test_an_s3_copy_that_cannot_be_withdrawn_is_logged_and_the_local_one_goes(
    bus: Bus,
    ctx: Context,
    source: dbs.ScratchDb,
    s3: Bucket,
    rules: list[Rule],
    caplog: pytest.LogCaptureFixture,
) -> None:
    job = backup_job(source, s3)
    assert job.s3 is not None
    fence = await claimed(bus, job.execution_id, 1)
    rep = Recorded(bus, job.execution_id, 1)
    done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert done.ok and done.s3_ok, done.error_message

    rules.append(refuse("DELETE"))
    await claimed(bus, job.execution_id, 2)
    with caplog.at_level(logging.WARNING, logger=backup.__name__):
        assert await record(ctx, job, fence, rep, done) is None
    assert local_files(ctx, job) == []
    assert await objects(s3, job) == [job.s3.key, job.s3.key + MANIFEST]
    warned = [r.getMessage() for r in caplog.records if r.name == backup.__name__]
    assert any(
        m.startswith(f"cannot withdraw s3 copy of {job.execution_id}") and "AccessDenied" in m
        for m in warned
    ), warned


# --- what earlier attempts left ------------------------------------------------------------


async def test_a_later_attempt_removes_what_earlier_ones_left_in_s3_and_says_so(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket
) -> None:
    job = backup_job(source, s3)
    assert job.s3 is not None
    # Attempt 1 published its object and manifest (killed before recording); attempt 2
    # started an upload it never finished.
    await leave_s3_object(s3, job.s3.key)
    second_key = attempt_s3_key(job.s3.key, 2)

    async def start_upload(client: Any) -> Any:
        return await client.create_multipart_upload(Bucket=s3.settings.bucket, Key=second_key)

    await s3.call("CreateMultipartUpload", second_key, start_upload)
    for earlier in (1, 2):
        await claimed(bus, job.execution_id, earlier)
    fence = await claimed(bus, job.execution_id, 3)
    rep = Recorded(bus, job.execution_id, 3)
    done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert done.ok and done.s3_ok, done.error_message
    key = attempt_s3_key(job.s3.key, 3)
    assert done.s3_key == key
    assert await objects(s3, job) == [key, key + MANIFEST]

    async def unfinished(client: Any) -> Any:
        return await client.list_multipart_uploads(Bucket=s3.settings.bucket)

    listed = await s3.call("ListMultipartUploads", None, unfinished)
    assert [u["Key"] for u in listed.get("Uploads", []) if job.execution_id[:8] in u["Key"]] == []
    [removed] = [m for m in rep.said("info") if m.startswith("Removed what 2 earlier attempt(s)")]
    assert f"s3://{s3.settings.bucket}/{job.s3.key}" in removed
    assert "aborted" in removed


async def test_leftovers_that_cannot_be_removed_are_warned_about_and_the_backup_completes(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket, rules: list[Rule]
) -> None:
    """Attempt 1's local name is taken by a directory (not removable as a file), and S3
    refuses deletions: attempt 2 says so and completes under its own names."""
    job = backup_job(source, s3)
    assert job.s3 is not None
    blocked = ctx.storage.path_of(job.relative_dir) / job.file_name
    blocked.mkdir(parents=True)
    await leave_s3_object(s3, job.s3.key)
    rules.append(refuse("DELETE"))
    await claimed(bus, job.execution_id, 1)
    fence = await claimed(bus, job.execution_id, 2)
    rep = Recorded(bus, job.execution_id, 2)
    done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert done.ok and done.local_ok and done.s3_ok, done.error_message
    name, key = attempt_file_name(job.file_name, 2), attempt_s3_key(job.s3.key, 2)
    assert done.relative_path == f"{job.relative_dir}/{name}" and done.s3_key == key
    assert local_files(ctx, job) == sorted([job.file_name, name, name + MANIFEST])
    assert blocked.is_dir()
    assert await objects(s3, job) == sorted(
        [job.s3.key, job.s3.key + MANIFEST, key, key + MANIFEST]
    )
    warned = rep.said("warn")
    assert any(m.startswith("Could not remove what attempt 1 left: cannot remove") for m in warned)
    assert any(
        m.startswith("Could not clean up earlier attempts in S3:") and "AccessDenied" in m
        for m in warned
    ), warned
    assert not [m for m in rep.said("info") if m.startswith("Removed what")]
