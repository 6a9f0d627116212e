"""Running one backup attempt in a test, the executor's backup code with the real pieces
(tests/integration/test_backup_endings.py, test_backup_manifests.py): jobs, a reporter that
keeps its log lines, claimed fences and one that is interrupted at a chosen hold, a bucket of
moto's server reached directly and through an S3 front that refuses chosen requests."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifeboat.core.crypto import Sealer, generate_key
from lifeboat.core.naming import backup_file_name, backup_relative_dir
from lifeboat.executor.backup import run_backup
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter
from lifeboat.executor.settings import Settings
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from lifeboat.wire.bus import LEASE_TTL_S, Bus
from lifeboat.wire.lease import Fence, LeasePhase
from lifeboat.wire.messages import BackupFinished, BackupJob, LogLevel, S3Target, Target
from tests.support import dbs
from tests.support.s3 import TEST_ACCESS_KEY, TEST_SECRET_KEY, Rule, s3_front

SEAL_KEY = generate_key()
MANIFEST = ".manifest.json"


@contextlib.asynccontextmanager
async def fencing_bus(nats_url: str, name: str) -> AsyncGenerator[Bus]:
    """A bus with the streams and the leases bucket."""
    connected = await Bus.connect(nats_url, name=name)
    await connected.ensure_streams()
    await connected.ensure_fencing(ttl_s=LEASE_TTL_S)
    try:
        yield connected
    finally:
        await connected.close()


def executor_context(tmp: Path) -> Context:
    """An executor's context whose local storage is under `tmp`."""
    (tmp / "private").mkdir()
    settings = Settings.from_env(
        {
            "EXECUTOR_QUEUE": "backup-run",
            "DATA_DIR": str(tmp / "data"),
            "BACKUP_STORAGE_PATH": str(tmp / "backups"),
            "EXECUTOR_SEAL_KEY": SEAL_KEY,
            "EXECUTOR_ID": "backup-run-test",
            "EXECUTOR_TMP_DIR": str(tmp / "private"),
        }
    )
    context = Context.create(settings, os.environ)
    context.storage.ensure_root()
    return context


class Bucket(S3Store):
    """A bucket of moto's server reached directly (what the test sees); `front` is the
    endpoint the backups use, the S3 front that applies the test's rules."""

    front: str = ""


@contextlib.asynccontextmanager
async def new_bucket(moto: str, rules: list[Rule]) -> AsyncGenerator[Bucket]:
    """A new bucket of moto's server at `moto`, with an S3 front applying `rules`."""
    bucket = f"lbbackup-{uuid.uuid4().hex[:8]}"
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


async def leave_s3_object(s3: Bucket, key: str) -> None:
    await s3.put_bytes(key, b"complete but never recorded")
    await s3.put_bytes(S3Store.manifest_key(key), b"{}", content_type="application/json")
