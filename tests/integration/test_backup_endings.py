"""How a backup attempt ends when it may not keep what it wrote, or when what earlier attempts
left or its manifests cannot be handled: the executor's backup code with the real pieces (the
leases bucket on a real nats-server, pg_dump on the machine's PostgreSQL, local storage, and
moto's S3 server behind an HTTP front that refuses chosen requests).

Every test checks what is left on disk and in the bucket, and what the attempt reports.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lifeboat.core.crypto import Sealer, generate_key
from lifeboat.core.errors import FencedError, JobCancelledError
from lifeboat.core.naming import (
    attempt_file_name,
    attempt_s3_key,
    backup_file_name,
    backup_relative_dir,
)
from lifeboat.executor import backup
from lifeboat.executor.backup import run_backup
from lifeboat.executor.context import Context
from lifeboat.executor.outcome import record
from lifeboat.executor.reporter import Reporter
from lifeboat.executor.settings import Settings
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from lifeboat.wire.bus import LEASE_TTL_S, Bus
from lifeboat.wire.lease import Fence, LeasePhase, request_cancel
from lifeboat.wire.messages import BackupFinished, BackupJob, LogLevel, S3Target, Target
from tests.support import dbs
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY, Rule, refuse, run_moto, s3_front

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SEAL_KEY = generate_key()
MANIFEST = ".manifest.json"


@pytest.fixture(scope="module")
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    connected = await Bus.connect(nats_url, name="test-backup-endings")
    await connected.ensure_streams()
    await connected.ensure_fencing(ttl_s=LEASE_TTL_S)
    yield connected
    await connected.close()


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    tmp = tmp_path_factory.mktemp("backup-endings")
    (tmp / "private").mkdir()
    settings = Settings.from_env(
        {
            "EXECUTOR_QUEUE": "backup-endings",
            "DATA_DIR": str(tmp / "data"),
            "BACKUP_STORAGE_PATH": str(tmp / "backups"),
            "EXECUTOR_SEAL_KEY": SEAL_KEY,
            "EXECUTOR_ID": "backup-endings-test",
            "EXECUTOR_TMP_DIR": str(tmp / "private"),
        }
    )
    context = Context.create(settings, os.environ)
    context.storage.ensure_root()
    return context


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
async def rules() -> AsyncIterator[list[Rule]]:
    """What the S3 front refuses during one test (nothing unless the test adds rules)."""
    chosen: list[Rule] = []
    yield chosen
    chosen.clear()


class Bucket(S3Store):
    """A bucket of moto's server reached directly (what the test sees); `front` is the
    endpoint the backups use, the S3 front that applies the test's rules."""

    front: str = ""


@pytest.fixture
async def s3(moto: str, rules: list[Rule]) -> AsyncIterator[Bucket]:
    """A new bucket of moto's server, reached directly (what the test sees) and through the
    front (``endpoint_url`` of the settings: what the backup uses)."""
    bucket = f"lbendings-{uuid.uuid4().hex[:8]}"
    async with Bucket(_settings(moto, bucket)) as store:

        async def create(client: Any) -> None:
            await client.create_bucket(Bucket=bucket)

        await store.call("CreateBucket", None, create)
        async with s3_front(moto, rules) as front:
            store.front = front
            yield store


def _settings(endpoint: str, bucket: str) -> S3Settings:
    return S3Settings(
        endpoint_url=endpoint,
        bucket=bucket,
        access_key_id=TEST_ACCESS_KEY,
        secret_access_key=TEST_SECRET_KEY,
        addressing_style="path",
    )


@pytest.fixture(scope="module")
def big_source() -> Iterator[dbs.ScratchDb]:
    """About 8 MiB of random bytes: its dump does not compress below S3's 5 MiB minimum part
    size, so it is uploaded in parts."""
    with dbs.scratch_pg("lbendings_big") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE b (id int primary key, v bytea)")
            conn.execute(
                "INSERT INTO b SELECT g, decode(md5(random()::text) || md5(random()::text)"
                " || md5(random()::text) || md5(random()::text), 'hex')"
                " FROM generate_series(1, 130000) g"
            )
        yield db


def backup_job(
    db: dbs.ScratchDb,
    s3: Bucket | None = None,
    *,
    local: bool = True,
    part_size_bytes: int = 16 * 1024 * 1024,
) -> BackupJob:
    execution_id = str(uuid.uuid4())
    at = datetime.now(UTC)
    sealer = Sealer(SEAL_KEY)
    file_name = backup_file_name(
        database=db.name,
        backup_type="manual",
        started_at=at,
        execution_id=execution_id,
        extension="dump",
        compression="zstd",
    )
    target = None
    if s3 is not None:
        target = S3Target(
            bucket=s3.settings.bucket,
            key=f"{db.name}/{file_name}",
            sealed_access_key_id=sealer.seal(TEST_ACCESS_KEY, bound_to=execution_id),
            sealed_secret_access_key=sealer.seal(TEST_SECRET_KEY, bound_to=execution_id),
            endpoint_url=s3.front,
            addressing_style="path",
            part_size_bytes=part_size_bytes,
        )
    return BackupJob(
        execution_id=execution_id,
        target=Target(
            engine="postgresql",
            host=db.host,
            port=db.port,
            database=db.name,
            username=db.user,
            sealed_password=sealer.seal(db.password or "", bound_to=execution_id),
        ),
        database_label=db.name,
        backup_type="manual",
        relative_dir=backup_relative_dir(database=db.name, started_at=at),
        file_name=file_name,
        requested_at=at,
        s3=target,
        store_locally=local,
    )


class Recorded(Reporter):
    """A reporter that also keeps the log lines it published."""

    def __init__(self, bus: Bus, execution_id: str, attempt: int) -> None:
        super().__init__(
            bus,
            execution_id=execution_id,
            kind="backup",
            attempt=attempt,
            executor_id=f"executor-{attempt}",
        )
        self.lines: list[tuple[LogLevel, str]] = []

    async def log(
        self, level: LogLevel, message: str, metadata: dict[str, Any] | None = None
    ) -> None:
        self.lines.append((level, message))
        await super().log(level, message, metadata)

    def said(self, level: LogLevel) -> list[str]:
        return [m for lv, m in self.lines if lv == level]


async def claimed(bus: Bus, execution_id: str, attempt: int) -> Fence:
    fence = Fence(bus, execution_id=execution_id, attempt=attempt, executor_id=f"ex-{attempt}")
    assert await fence.claim(restore=False) == "run"
    return fence


class InterruptedFence(Fence):
    """A fence that runs `then` right after its `after`-th successful hold (another attempt
    takes the job over, or the user cancels it) and carries on."""

    def __init__(self, base: Fence, *, after: int, then: Callable[[], Awaitable[None]]):
        super().__init__(
            base.bus,
            execution_id=base.execution_id,
            attempt=base.attempt,
            executor_id=base.executor_id,
        )
        self.lease, self.previous, self._revision = base.lease, base.previous, base._revision  # pyright: ignore[reportPrivateUsage]
        self._after = after
        self._then = then
        self.holds = 0

    async def hold(self, phase: LeasePhase | None = None) -> None:
        await super().hold(phase)
        self.holds += 1
        if self.holds == self._after:
            await self._then()


def local_files(ctx: Context, job: BackupJob) -> list[str]:
    directory = ctx.storage.path_of(job.relative_dir)
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if job.execution_id[:8] in p.name)


async def objects(s3: Bucket, job: BackupJob) -> list[str]:
    assert job.s3 is not None
    prefix = job.s3.key.rpartition("/")[0]
    return sorted([key async for key in s3.list_keys(prefix) if job.execution_id[:8] in key])


async def run(ctx: Context, bus: Bus, job: BackupJob, fence: Fence) -> BackupFinished:
    rep = Recorded(bus, job.execution_id, fence.attempt)
    return await run_backup(ctx, job, rep, fence, started_at=datetime.now(UTC))


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


async def _leave_s3_object(s3: Bucket, key: str) -> None:
    await s3.put_bytes(key, b"complete but never recorded")
    await s3.put_bytes(S3Store.manifest_key(key), b"{}", content_type="application/json")


async def test_a_later_attempt_removes_what_earlier_ones_left_in_s3_and_says_so(
    bus: Bus, ctx: Context, source: dbs.ScratchDb, s3: Bucket
) -> None:
    job = backup_job(source, s3)
    assert job.s3 is not None
    # Attempt 1 published its object and manifest (killed before recording); attempt 2
    # started an upload it never finished.
    await _leave_s3_object(s3, job.s3.key)
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
    await _leave_s3_object(s3, job.s3.key)
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
