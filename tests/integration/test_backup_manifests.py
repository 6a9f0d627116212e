"""How a backup attempt ends when its manifests cannot be written, S3 refuses part of an
upload, or the code has a bug: the executor's backup code with the real pieces (the leases
bucket on a real nats-server, pg_dump on the machine's PostgreSQL, local storage, and moto's S3 server
behind an HTTP front that refuses chosen requests; see tests/support/backup_run.py).

Every test checks what is left on disk and in the bucket, and what the attempt reports.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from lifeboat.executor import backup
from lifeboat.executor.backup import run_backup
from lifeboat.executor.context import Context
from lifeboat.wire.bus import Bus
from tests.support import dbs
from tests.support.backup_run import (
    MANIFEST,
    Bucket,
    Recorded,
    backup_job,
    claimed,
    executor_context,
    fencing_bus,
    local_files,
    new_bucket,
    objects,
    run,
)
from tests.support.s3 import Rule, refuse, run_moto

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    async with fencing_bus(nats_url, "test-backup-manifests") as connected:
        yield connected


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    return executor_context(tmp_path_factory.mktemp("backup-manifests"))


@pytest.fixture(scope="module")
def source() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_pg("lbmanifests") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE t (id int primary key, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g")
        yield db


@pytest.fixture(scope="module")
def big_source() -> Iterator[dbs.ScratchDb]:
    """About 8 MiB of random bytes: its dump does not compress below S3's 5 MiB minimum part
    size, so it is uploaded in parts."""
    with dbs.scratch_pg("lbmanifests_big") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE b (id int primary key, v bytea)")
            conn.execute(
                "INSERT INTO b SELECT g, decode(md5(random()::text) || md5(random()::text)"
                " || md5(random()::text) || md5(random()::text), 'hex')"
                " FROM generate_series(1, 130000) g"
            )
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


# --- manifests ---------------------------------------------------------------------------------


async def test_an_s3_only_backup_whose_manifest_is_refused_fails_and_leaves_no_object(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket, rules: list[Rule]
) -> None:
    rules.append(refuse("PUT", key_suffix=MANIFEST))
    job = backup_job(source, s3, local=False)
    done = await run(ctx, bus, job, await claimed(bus, job.execution_id, 1))
    assert not done.ok and done.local_ok is None and done.s3_ok is False
    assert done.error_message is not None
    assert done.error_message.startswith(
        "no copy of the backup could be stored: cannot write the manifest:"
    )
    assert "AccessDenied" in done.error_message
    assert await objects(s3, job) == []
    assert local_files(ctx, job) == []


async def test_with_both_copies_a_refused_s3_manifest_keeps_the_local_copy(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket, rules: list[Rule]
) -> None:
    """The S3 object without its manifest must go; S3 refusing that too is said, and the
    backup completes with its local copy."""
    rules += [refuse("PUT", key_suffix=MANIFEST), refuse("DELETE")]
    job = backup_job(source, s3)
    assert job.s3 is not None
    fence = await claimed(bus, job.execution_id, 1)
    rep = Recorded(bus, job.execution_id, 1)
    done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert done.ok and done.local_ok is True and done.s3_ok is False
    assert done.s3_error and done.s3_error.startswith("cannot write the manifest:")
    assert local_files(ctx, job) == [job.file_name, job.file_name + MANIFEST]
    assert await objects(s3, job) == [job.s3.key]  # S3 refused its removal
    assert any(
        m.startswith("Could not remove the S3 object:") and "AccessDenied" in m
        for m in rep.said("warn")
    ), rep.lines
    assert any(
        m.startswith("S3 copy failed: cannot write the manifest:") for m in rep.said("error")
    )


async def test_with_both_copies_no_manifest_written_fails_the_backup_and_leaves_nothing(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket, rules: list[Rule]
) -> None:
    rules.append(refuse("PUT", key_suffix=MANIFEST))
    job = backup_job(source, s3)
    # The local sidecar's name is taken by a directory.
    (ctx.storage.path_of(job.relative_dir) / (job.file_name + MANIFEST)).mkdir(parents=True)
    done = await run(ctx, bus, job, await claimed(bus, job.execution_id, 1))
    assert not done.ok and done.local_ok is False and done.s3_ok is False
    assert done.error_message is not None
    reasons = done.error_message.removeprefix("no copy of the backup could be stored: ")
    local_reason, s3_reason = reasons.split("; ")
    assert local_reason.startswith("cannot write the manifest of")
    assert s3_reason.startswith("cannot write the manifest:") and "AccessDenied" in s3_reason
    assert local_files(ctx, job) == [job.file_name + MANIFEST]  # the directory only
    assert await objects(s3, job) == []


async def test_what_s3_refused_without_failing_the_upload_is_logged_as_a_warning(
    bus: Bus, ctx: Context, big_source: dbs.ScratchDb, s3: Bucket, rules: list[Rule]
) -> None:
    """A multipart upload's sha256 is stored as an object tag afterwards; a bucket without
    tagging keeps the copy (the manifest carries the sha256) and the log says what is missing."""
    rules.append(refuse("PUT", query="tagging"))
    job = backup_job(big_source, s3, local=False, part_size_bytes=5 * 1024 * 1024)
    assert job.s3 is not None
    fence = await claimed(bus, job.execution_id, 1)
    rep = Recorded(bus, job.execution_id, 1)
    done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert done.ok and done.s3_ok is True and done.local_ok is None, done.error_message
    assert done.size_bytes is not None and done.size_bytes > 5 * 1024 * 1024  # in parts
    assert await objects(s3, job) == [job.s3.key, job.s3.key + MANIFEST]
    warned = rep.said("warn")
    assert any(
        m.startswith("S3: sha256 tag not stored:") and "AccessDenied" in m for m in warned
    ), warned


# --- a bug -------------------------------------------------------------------------------------


async def test_an_unexpected_exception_fails_the_backup_and_is_logged_with_its_traceback(
    bus: Bus,
    ctx: Context,
    source: dbs.ScratchDb,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug (here: reading the dump tool's version) must end the execution as failed, not
    leave it running or stuck."""

    async def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("unreadable version banner")

    monkeypatch.setattr(backup, "tool_version", broken)
    job = backup_job(source)
    fence = await claimed(bus, job.execution_id, 1)
    rep = Recorded(bus, job.execution_id, 1)
    with caplog.at_level(logging.ERROR, logger=backup.__name__):
        done = await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))
    assert not done.ok and done.local_ok is False
    assert done.error_message == "internal error: ValueError: unreadable version banner"
    assert rep.said("error") == [f"Backup failed: {done.error_message}"]
    [logged] = [r for r in caplog.records if r.name == backup.__name__]
    assert logged.getMessage() == f"backup {job.execution_id} failed unexpectedly"
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], ValueError)
    assert local_files(ctx, job) == []
