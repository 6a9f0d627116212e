"""Executor listing and the "queue without a live executor" warnings."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from sqlalchemy import select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupExecution,
    DatabaseConfig,
    RestoreExecution,
    VerificationExecution,
)
from lifeboat.api.domain.executors.registry import ExecutorRegistry
from lifeboat.api.domain.executors.schemas import ExecutorOut, QueueWarningOut, RunningJobOut


async def list_executors(ctx: ApiContext, registry: ExecutorRegistry) -> list[ExecutorOut]:
    """Every executor heard from in the last ten minutes, with its running jobs resolved."""
    states = registry.states()
    now = registry.now()
    ids = {job_id for s in states for job_id in s.beat.running}
    known = await _executions(ctx, ids)
    return [
        ExecutorOut(
            id=s.beat.executor_id,
            queue=s.beat.queue,
            version=s.beat.version,
            tools=dict(s.beat.tools),
            running_jobs=[
                known.get(job_id)
                or RunningJobOut(id=job_id, kind=None, database_name=None, status=None)
                for job_id in s.beat.running
            ],
            concurrency=s.beat.concurrency,
            interval_seconds=s.beat.interval_s,
            stopping=s.beat.stopping,
            live=s.live(now),
            last_seen=s.last_seen,
            started_at=s.beat.started_at,
        )
        for s in states
    ]


JobKind = Literal["backup", "restore", "verify"]
Execution = BackupExecution | RestoreExecution | VerificationExecution


async def _executions(ctx: ApiContext, ids: set[str]) -> dict[str, RunningJobOut]:
    if not ids:
        return {}
    found: dict[str, RunningJobOut] = {}
    async with ctx.db.read() as session:
        models: tuple[tuple[JobKind, type[Execution]], ...] = (
            ("backup", BackupExecution),
            ("restore", RestoreExecution),
            ("verify", VerificationExecution),
        )
        for kind, model in models:
            rows = await session.execute(
                select(model.id, model.status, DatabaseConfig.name)
                .outerjoin(DatabaseConfig, DatabaseConfig.id == model.database_config_id)
                .where(model.id.in_(ids))
            )
            for job_id, status, name in rows.all():
                found[job_id] = RunningJobOut(
                    id=job_id,
                    kind=kind,
                    database_name=name,
                    status=status,
                )
    return found


async def queue_warnings(ctx: ApiContext, registry: ExecutorRegistry) -> list[QueueWarningOut]:
    """Queues used by an enabled database that no live executor serves, by queue name."""
    async with ctx.db.read() as session:
        rows = (
            await session.execute(
                select(DatabaseConfig.queue, DatabaseConfig.name)
                .where(DatabaseConfig.enabled.is_(True))
                .order_by(DatabaseConfig.name)
            )
        ).all()
    by_queue: dict[str, list[str]] = defaultdict(list)
    for queue, name in rows:
        by_queue[queue].append(name)
    live = registry.live_queues()
    return [
        QueueWarningOut(
            queue=queue,
            databases=names,
            message=(
                f"queue {queue!r} (used by {', '.join(names)}) has no live executor: its jobs"
                f" wait until an executor with EXECUTOR_QUEUE={queue} runs"
            ),
        )
        for queue, names in sorted(by_queue.items())
        if queue not in live
    ]
