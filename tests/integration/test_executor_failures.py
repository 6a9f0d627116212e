"""How backups and restores fail, seen from outside the executor: a backup whose copies cannot all
be stored, a restore whose artifact or target is not what it should be.

An in-process executor serves one queue; jobs are published on a real nats-server and their
results read from the events they publish, against the machine's PostgreSQL and a real S3
endpoint (moto's server). Each failure must end with a clear result and leave no copy that
the result does not name.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from lifeboat.core.crypto import Sealer, generate_key
from lifeboat.core.naming import backup_file_name, backup_relative_dir
from lifeboat.executor.context import Context
from lifeboat.executor.settings import Settings
from lifeboat.executor.worker import Executor
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import executor_event_decoder
from lifeboat.wire.messages import (
    UPLOADS_DIR,
    BackupFinished,
    BackupJob,
    ExecutionLogLine,
    ExecutorEvent,
    RestoreFinished,
    RestoreJob,
    RestoreOptions,
    S3Target,
    Target,
)
from tests.support import dbs
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY, run_moto

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

QUEUE = "itest-failures"
SEAL_KEY = generate_key()


@dataclass
class Harness:
    bus: Bus
    sealer: Sealer
    storage: Path
    endpoint: str
    bucket: str
    events: list[ExecutorEvent] = field(default_factory=list[ExecutorEvent])

    async def finished(self, execution_id: str, timeout: float = 60.0) -> BackupFinished:
        event = await self.result(execution_id, timeout)
        assert isinstance(event, BackupFinished)
        return event

    async def result(
        self, execution_id: str, timeout: float = 60.0
    ) -> BackupFinished | RestoreFinished:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for event in self.events:
                if (
                    isinstance(event, BackupFinished | RestoreFinished)
                    and event.execution_id == execution_id
                ):
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no finished event for {execution_id}")

    def logs(self, execution_id: str) -> list[ExecutionLogLine]:
        return [
            e
            for e in self.events
            if isinstance(e, ExecutionLogLine) and e.execution_id == execution_id
        ]

    async def objects(self) -> list[str]:
        async with S3Store(_s3_settings(self.endpoint, self.bucket)) as store:
            return sorted([key async for key in store.list_keys("")])


def _s3_settings(endpoint: str, bucket: str) -> S3Settings:
    return S3Settings(
        endpoint_url=endpoint,
        bucket=bucket,
        access_key_id=TEST_ACCESS_KEY,
        secret_access_key=TEST_SECRET_KEY,
        addressing_style="path",
    )


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with run_moto() as url:
        yield url


@pytest.fixture(scope="module")
def source() -> Iterator[dbs.ScratchDb]:
    with dbs.scratch_pg("lbt_failures") as db:
        with dbs.pg_connect(db.name) as conn:
            conn.execute("CREATE TABLE t (id int primary key, v text)")
            conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g")
            conn.commit()
        yield db


@pytest.fixture(scope="module")
async def harness(
    nats_url: str, tmp_path_factory: pytest.TempPathFactory, endpoint: str
) -> AsyncIterator[Harness]:
    tmp = tmp_path_factory.mktemp("executor-failures")
    (tmp / "private").mkdir()
    bucket = f"lbt-failures-{uuid.uuid4().hex[:8]}"
    async with S3Store(_s3_settings(endpoint, bucket)) as store:

        async def create(client: Any) -> None:
            await client.create_bucket(Bucket=bucket)

        await store.call("CreateBucket", None, create)
    h = Harness(
        bus=await Bus.connect(nats_url, name="itest-failures-publisher"),
        sealer=Sealer(SEAL_KEY),
        storage=tmp / "backups",
        endpoint=endpoint,
        bucket=bucket,
    )
    await h.bus.ensure_streams()
    spy: Client = await nats.connect(nats_url)

    async def on_event(msg: Msg) -> None:
        h.events.append(executor_event_decoder.decode(msg.data))

    await spy.subscribe(f"{subjects.PREFIX}.events.>", cb=on_event)
    settings = Settings.from_env(
        {
            "NATS_URL": "unused",
            "EXECUTOR_QUEUE": QUEUE,
            "DATA_DIR": str(tmp / "data"),
            "BACKUP_STORAGE_PATH": str(h.storage),
            "EXECUTOR_SEAL_KEY": SEAL_KEY,
            "EXECUTOR_ID": "test-failures",
            "EXECUTOR_TMP_DIR": str(tmp / "private"),
            "EXECUTOR_SHUTDOWN_GRACE": "2",
        }
    )
    executor_bus = await Bus.connect(nats_url, name="itest-failures-executor")
    executor = Executor(Context.create(settings, os.environ), executor_bus)
    stop = asyncio.Event()
    runner = asyncio.ensure_future(executor.run(stop))
    try:
        yield h
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(runner, return_exceptions=True), 30)
        await executor_bus.close()
        await h.bus.close()
        await spy.drain()


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _job(
    h: Harness,
    db: dbs.ScratchDb,
    *,
    s3: bool = False,
    store_locally: bool = True,
    endpoint: str | None = None,
    sealed_for: str | None = None,
    part_size_bytes: int = 16 * 1024 * 1024,
) -> BackupJob:
    execution_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    file_name = backup_file_name(
        database=db.name,
        backup_type="manual",
        started_at=now,
        execution_id=execution_id,
        extension="dump",
        compression="zstd",
    )
    bound_to = sealed_for or execution_id
    target = S3Target(
        bucket=h.bucket,
        key=f"{db.name}/{file_name}",
        sealed_access_key_id=h.sealer.seal(TEST_ACCESS_KEY, bound_to=execution_id),
        sealed_secret_access_key=h.sealer.seal(TEST_SECRET_KEY, bound_to=execution_id),
        endpoint_url=endpoint or h.endpoint,
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
            sealed_password=h.sealer.seal(db.password, bound_to=bound_to),
        ),
        database_label=db.name,
        backup_type="manual",
        relative_dir=backup_relative_dir(database=db.name, started_at=now),
        file_name=file_name,
        requested_at=now,
        s3=target if s3 else None,
        store_locally=store_locally,
    )


async def _run(h: Harness, job: BackupJob) -> BackupFinished:
    await h.bus.publish_job(QUEUE, job, sign=h.sealer.mac)
    return await h.finished(job.execution_id)


def _local_files(h: Harness, job: BackupJob) -> list[str]:
    """The files of `job` in local storage (temporary ones included); other jobs share the
    directory."""
    directory = h.storage / job.relative_dir
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if job.file_name in p.name)


async def test_a_local_manifest_that_cannot_be_written_fails_the_backup(
    harness: Harness, source: dbs.ScratchDb
) -> None:
    job = _job(harness, source)
    # The sidecar's name is taken (by a directory): the artifact must not stay without it.
    (harness.storage / job.relative_dir / f"{job.file_name}.manifest.json").mkdir(parents=True)
    finished = await _run(harness, job)
    assert not finished.ok
    assert finished.error_message and "cannot write the manifest" in finished.error_message
    assert finished.relative_path is None
    assert _local_files(harness, job) == [f"{job.file_name}.manifest.json"]


async def test_with_both_copies_a_failed_local_manifest_keeps_the_s3_copy(
    harness: Harness, source: dbs.ScratchDb
) -> None:
    job = _job(harness, source, s3=True)
    assert job.s3 is not None
    (harness.storage / job.relative_dir / f"{job.file_name}.manifest.json").mkdir(parents=True)
    finished = await _run(harness, job)
    assert finished.ok, finished.error_message
    assert finished.local_ok is False and finished.relative_path is None
    assert finished.s3_ok is True and finished.s3_key == job.s3.key
    assert job.s3.key in await harness.objects()
    assert _local_files(harness, job) == [f"{job.file_name}.manifest.json"]
    errors = [e.message for e in harness.logs(job.execution_id) if e.level == "error"]
    assert any("Local copy failed: cannot write the manifest" in m for m in errors), errors


async def test_an_unreachable_s3_endpoint_costs_only_the_s3_copy(
    harness: Harness, source: dbs.ScratchDb
) -> None:
    job = _job(harness, source, s3=True, endpoint=f"http://127.0.0.1:{_closed_port()}")
    finished = await _run(harness, job)
    assert finished.ok, finished.error_message
    assert finished.local_ok is True and finished.relative_path
    assert finished.s3_ok is False and finished.s3_error
    assert sorted(_local_files(harness, job)) == sorted(
        [job.file_name, f"{job.file_name}.manifest.json"]
    )


async def test_an_s3_only_backup_fails_when_s3_is_unreachable(
    harness: Harness, source: dbs.ScratchDb
) -> None:
    job = _job(
        harness,
        source,
        s3=True,
        store_locally=False,
        endpoint=f"http://127.0.0.1:{_closed_port()}",
    )
    finished = await _run(harness, job)
    assert not finished.ok
    assert finished.error_message
    assert finished.s3_ok is False and finished.local_ok is None
    assert _local_files(harness, job) == []


async def test_s3_settings_that_cannot_work_cost_only_the_s3_copy(
    harness: Harness, source: dbs.ScratchDb
) -> None:
    """A part size S3 refuses: the upload is never opened; the local copy completes, and an
    S3-only backup fails saying why."""
    both = _job(harness, source, s3=True, part_size_bytes=1024)
    finished = await _run(harness, both)
    assert finished.ok and finished.local_ok is True, finished.error_message
    assert finished.s3_ok is False and finished.s3_error and "part_size" in finished.s3_error
    only_s3 = _job(harness, source, s3=True, store_locally=False, part_size_bytes=1024)
    failed = await _run(harness, only_s3)
    assert not failed.ok
    assert failed.error_message and "cannot open the S3 upload" in failed.error_message


async def test_a_job_that_asks_for_no_copy_fails(harness: Harness, source: dbs.ScratchDb) -> None:
    finished = await _run(harness, _job(harness, source, store_locally=False))
    assert not finished.ok
    assert finished.error_message and "no copy at all" in finished.error_message


async def test_a_password_sealed_for_another_execution_does_not_open(
    harness: Harness, source: dbs.ScratchDb
) -> None:
    job = _job(harness, source, sealed_for=str(uuid.uuid4()))
    finished = await _run(harness, job)
    assert not finished.ok and finished.error_message
    assert _local_files(harness, job) == []


# --- restores ---------------------------------------------------------------------------------


def _target(
    h: Harness, db: dbs.ScratchDb, execution_id: str, *, sealed_for: str | None = None
) -> Target:
    return Target(
        engine="postgresql",
        host=db.host,
        port=db.port,
        database=db.name,
        username=db.user,
        sealed_password=h.sealer.seal(db.password, bound_to=sealed_for or execution_id),
    )


async def _restore(
    h: Harness,
    db: dbs.ScratchDb,
    *,
    source_path: str,
    sha256: str,
    size: int,
    options: RestoreOptions | None = None,
    uploaded: bool = False,
    sealed_for: str | None = None,
) -> RestoreFinished:
    execution_id = str(uuid.uuid4())
    job = RestoreJob(
        execution_id=execution_id,
        target=_target(h, db, execution_id, sealed_for=sealed_for),
        source_path=source_path,
        source_engine="postgresql",
        compression="zstd",
        expected_sha256=sha256,
        expected_size=size,
        options=options or RestoreOptions(),
        requested_at=datetime.now(UTC),
        unverified=uploaded,
        uploaded=uploaded,
    )
    await h.bus.publish_job(QUEUE, job, sign=h.sealer.mac)
    finished = await h.result(execution_id)
    assert isinstance(finished, RestoreFinished)
    return finished


@pytest.fixture(scope="module")
async def good_backup(harness: Harness, source: dbs.ScratchDb) -> BackupFinished:
    finished = await _run(harness, _job(harness, source))
    assert finished.ok and finished.relative_path, finished.error_message
    return finished


def _upload(h: Harness, data: bytes) -> str:
    """Put `data` where the API keeps an uploaded file; its source path."""
    directory = h.storage / UPLOADS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.dump.zst"
    (directory / name).write_bytes(data)
    return f"{UPLOADS_DIR}/{name}"


async def test_a_restore_whose_password_was_sealed_for_another_execution_fails(
    harness: Harness, good_backup: BackupFinished
) -> None:
    assert good_backup.relative_path and good_backup.sha256 and good_backup.size_bytes
    with dbs.scratch_pg("lbt_failures_dst") as target:
        finished = await _restore(
            harness,
            target,
            source_path=good_backup.relative_path,
            sha256=good_backup.sha256,
            size=good_backup.size_bytes,
            sealed_for=str(uuid.uuid4()),
        )
    assert not finished.ok and finished.error_message


async def test_errors_ignored_on_request_are_logged_as_warnings(
    harness: Harness, good_backup: BackupFinished
) -> None:
    assert good_backup.relative_path and good_backup.sha256 and good_backup.size_bytes
    with dbs.scratch_pg("lbt_failures_dst") as target:
        first = await _restore(
            harness,
            target,
            source_path=good_backup.relative_path,
            sha256=good_backup.sha256,
            size=good_backup.size_bytes,
        )
        assert first.ok, first.error_message
        # Again, without clean: every CREATE fails; asked to carry on, the restore completes.
        again = await _restore(
            harness,
            target,
            source_path=good_backup.relative_path,
            sha256=good_backup.sha256,
            size=good_backup.size_bytes,
            options=RestoreOptions(exit_on_error=False),
        )
    assert again.ok, again.error_message
    warnings = [e.message for e in harness.logs(again.execution_id) if e.level == "warn"]
    assert any("Errors were ignored as requested" in m for m in warnings), warnings


async def test_an_upload_of_the_wrong_size_is_refused_and_removed(
    harness: Harness, good_backup: BackupFinished
) -> None:
    assert good_backup.relative_path and good_backup.size_bytes
    data = (harness.storage / good_backup.relative_path).read_bytes()
    source_path = _upload(harness, data)
    with dbs.scratch_pg("lbt_failures_dst") as target:
        finished = await _restore(
            harness, target, source_path=source_path, sha256="", size=len(data) + 1, uploaded=True
        )
    assert not finished.ok
    assert finished.error_message and f"not {len(data) + 1}" in finished.error_message
    assert not (harness.storage / source_path).exists()


async def test_an_upload_that_is_gone_is_refused(harness: Harness) -> None:
    with dbs.scratch_pg("lbt_failures_dst") as target:
        finished = await _restore(
            harness,
            target,
            source_path=f"{UPLOADS_DIR}/{uuid.uuid4().hex}.dump.zst",
            sha256="",
            size=100,
            uploaded=True,
        )
    assert not finished.ok
    assert finished.error_message and "the artifact is gone" in finished.error_message


async def test_an_upload_that_does_not_decompress_is_refused_and_removed(harness: Harness) -> None:
    data = b"not zstd at all\n" * 64
    source_path = _upload(harness, data)
    with dbs.scratch_pg("lbt_failures_dst") as target:
        finished = await _restore(
            harness, target, source_path=source_path, sha256="", size=len(data), uploaded=True
        )
    assert not finished.ok
    assert finished.error_message and "cannot decompress the artifact" in finished.error_message
    assert not (harness.storage / source_path).exists()


async def test_only_files_under_the_uploads_directory_are_ever_removed(
    harness: Harness, good_backup: BackupFinished
) -> None:
    """A job that says its (recorded) artifact was uploaded must not make the executor delete it."""
    assert good_backup.relative_path and good_backup.size_bytes
    with dbs.scratch_pg("lbt_failures_dst") as target:
        finished = await _restore(
            harness,
            target,
            source_path=good_backup.relative_path,
            sha256="",
            size=good_backup.size_bytes + 1,
            uploaded=True,
        )
    assert not finished.ok
    assert (harness.storage / good_backup.relative_path).is_file()
