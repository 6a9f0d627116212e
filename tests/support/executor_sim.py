"""Playing the executor in API integration tests: take jobs off a queue, report results."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

from lifeboat.core.naming import manifest_name
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import job_decoder
from lifeboat.wire.messages import BackupFinished, BackupJob, ExecutionStarted, Job
from tests.support.api import RunningApi


async def next_job(bus: Bus, queue: str, timeout: float = 10.0) -> Job:
    """The next job on `queue`, acknowledged (as an executor would after finishing)."""

    async def pull() -> Job:
        async for delivery in bus.jobs(queue):
            raw = delivery.data
            await delivery.ack()
            return job_decoder.decode(raw)
        raise AssertionError("jobs iterator ended")

    return await asyncio.wait_for(pull(), timeout)


async def finish_backup(
    api: RunningApi,
    bus: Bus,
    job: BackupJob,
    *,
    ok: bool = True,
    content: bytes = b"dump bytes",
    started_at: datetime | None = None,
) -> None:
    """Write the artifact and its manifest (when `ok`), publish started then finished."""
    started = started_at or datetime.now(UTC)
    relative = f"{job.relative_dir}/{job.file_name}"
    if ok:
        path = api.settings.backup_storage_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.with_name(manifest_name(path.name)).write_text("{}")
    await bus.publish_event(
        "backup",
        ExecutionStarted(
            execution_id=job.execution_id,
            kind="backup",
            attempt=1,
            executor_id="sim",
            at=started,
        ),
    )
    await bus.publish_event(
        "backup",
        BackupFinished(
            execution_id=job.execution_id,
            attempt=1,
            ok=ok,
            started_at=started,
            finished_at=started + timedelta(seconds=1),
            file_name=job.file_name if ok else None,
            relative_path=relative if ok else None,
            size_bytes=len(content) if ok else None,
            sha256=hashlib.sha256(content).hexdigest() if ok else None,
            compression=job.compression,
            error_message=None if ok else "pg_dump: simulated failure",
        ),
    )
