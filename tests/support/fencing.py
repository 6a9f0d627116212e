"""Helpers of tests/integration/test_fencing.py: backup and restore jobs against scratch
PostgreSQL databases, reporters and claimed fences for chosen attempts, and
:class:`FreezingFence`, the fence that "freezes" a stale attempt right after a hold."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from lifeboat.core.crypto import Sealer, generate_key
from lifeboat.core.naming import backup_file_name, backup_relative_dir
from lifeboat.executor.context import Context
from lifeboat.executor.reporter import Reporter
from lifeboat.wire.bus import Bus
from lifeboat.wire.lease import Fence, LeasePhase
from lifeboat.wire.messages import (
    BackupFinished,
    BackupJob,
    RestoreJob,
    RestoreOptions,
    Target,
)
from tests.support import dbs

SEAL_KEY = generate_key()
QUEUE = "fencing"


def target_of(db: dbs.ScratchDb, execution_id: str) -> Target:
    return Target(
        engine="postgresql",
        host=db.host,
        port=db.port,
        database=db.name,
        username=db.user,
        sealed_password=Sealer(SEAL_KEY).seal(db.password or "", bound_to=execution_id),
    )


def backup_job(db: dbs.ScratchDb) -> BackupJob:
    execution_id = str(uuid.uuid4())
    at = datetime.now(UTC)
    return BackupJob(
        execution_id=execution_id,
        target=target_of(db, execution_id),
        database_label=db.name,
        backup_type="manual",
        relative_dir=backup_relative_dir(database=db.name, started_at=at),
        file_name=backup_file_name(
            database=db.name,
            backup_type="manual",
            started_at=at,
            execution_id=execution_id,
            extension="dump",
            compression="zstd",
        ),
        requested_at=at,
    )


def restore_job(done: BackupFinished, target: dbs.ScratchDb, options: RestoreOptions) -> RestoreJob:
    assert done.relative_path and done.sha256 and done.size_bytes
    restore_id = str(uuid.uuid4())
    return RestoreJob(
        execution_id=restore_id,
        target=target_of(target, restore_id),
        source_path=done.relative_path,
        source_engine="postgresql",
        compression="zstd",
        expected_sha256=done.sha256,
        expected_size=done.size_bytes,
        options=options,
        requested_at=datetime.now(UTC),
    )


def reporter(bus: Bus, execution_id: str, attempt: int, kind: str = "backup") -> Reporter:
    return Reporter(
        bus,
        execution_id=execution_id,
        kind="backup" if kind == "backup" else "restore",
        attempt=attempt,
        executor_id=f"executor-{attempt}",
    )


async def claimed(bus: Bus, execution_id: str, attempt: int, *, restore: bool = False) -> Fence:
    fence = Fence(bus, execution_id=execution_id, attempt=attempt, executor_id=f"ex-{attempt}")
    assert await fence.claim(restore=restore) == "run"
    return fence


def files_of(ctx: Context, job: BackupJob) -> list[str]:
    directory = ctx.storage.path_of(job.relative_dir)
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if job.execution_id[:8] in p.name)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FreezingFence(Fence):
    """A fence whose holder "freezes" right after a successful hold into `phase`: `while_frozen`
    runs there (the newer attempt doing its work), then the stale attempt carries on."""

    def __init__(
        self, base: Fence, *, freeze_after: int, while_frozen: Callable[[], Awaitable[None]]
    ):
        super().__init__(
            base.bus,
            execution_id=base.execution_id,
            attempt=base.attempt,
            executor_id=base.executor_id,
        )
        self.lease, self.previous, self._revision = base.lease, base.previous, base._revision  # pyright: ignore[reportPrivateUsage]
        self._freeze_after = freeze_after
        self._while_frozen = while_frozen
        self.holds = 0

    async def hold(self, phase: LeasePhase | None = None) -> None:
        await super().hold(phase)
        self.holds += 1
        if self.holds == self._freeze_after:
            await self._while_frozen()
