"""The executor loop: pull jobs for one queue, run up to N at once, report, ack, drain on stop.

Delivery contract (DESIGN.md): a job is acknowledged only after its finished event was stored
by the server; a job that ran and failed is terminated (never redelivered) after its failed
event was stored; if the finished event cannot be published the job is left unacknowledged
so JetStream redelivers it. Long jobs heartbeat with ``in_progress`` well inside AckWait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Mapping
from datetime import datetime

import msgspec

from lifeboat.executor.backup import failed_backup, run_backup
from lifeboat.executor.context import Context
from lifeboat.executor.heartbeat import Heartbeat, detect_tools
from lifeboat.executor.probe import handle_probe
from lifeboat.executor.reporter import Reporter, now
from lifeboat.executor.restore import failed_restore, run_restore
from lifeboat.executor.s3 import failed_upload, run_upload
from lifeboat.executor.settings import Settings
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus, Delivery
from lifeboat.wire.codec import job_decoder
from lifeboat.wire.messages import (
    BackupFinished,
    BackupJob,
    Job,
    RestoreFinished,
    RestoreJob,
    S3UploadFinished,
)

log = logging.getLogger(__name__)

Finished = BackupFinished | RestoreFinished | S3UploadFinished

SHUTDOWN_MESSAGE = "the executor shut down before the job finished"


class Executor:
    """One executor process serving one queue."""

    def __init__(self, ctx: Context, bus: Bus) -> None:
        self.ctx = ctx
        self.bus = bus
        self.settings = ctx.settings
        self._ops: dict[str, asyncio.Task[Finished]] = {}
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        """Jobs being run right now."""
        return len(self._handlers)

    @property
    def running_ids(self) -> list[str]:
        """Execution ids of the jobs being run right now (for the heartbeat)."""
        return list(self._ops)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve probes and jobs until `stop` is set, then drain (see module docstring)."""
        await self.bus.ensure_streams()
        self.ctx.storage.ensure_root()
        queue = self.settings.queue
        probe_sub = await self.bus.serve(
            subjects.probe_subject(queue),
            subjects.probe_queue_group(queue),
            lambda data: handle_probe(self.ctx, data),
        )
        log.info(
            "executor %s serving queue %r (concurrency %d, storage %s)",
            self.settings.executor_id,
            queue,
            self.settings.concurrency,
            self.settings.storage_path,
        )
        try:
            await self._pull(stop)
        finally:
            with contextlib.suppress(Exception):
                await probe_sub.unsubscribe()
            await self._drain()

    async def _pull(self, stop: asyncio.Event) -> None:
        slots = asyncio.Semaphore(self.settings.concurrency)
        jobs: AsyncIterator[Delivery] = self.bus.jobs(self.settings.queue)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                # Pull only when a slot is free, so other executors get the jobs we cannot run.
                acquire = asyncio.ensure_future(slots.acquire())
                await asyncio.wait({acquire, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not acquire.done():
                    acquire.cancel()
                    break
                pulled = asyncio.ensure_future(anext(jobs))
                await asyncio.wait({pulled, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not pulled.done():
                    # An unacknowledged fetch in flight is redelivered after AckWait.
                    pulled.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pulled
                    slots.release()
                    break
                if pulled.exception() is not None:
                    # NATS hiccup (reconnecting, consumer re-created...): pull again shortly.
                    log.warning("pulling jobs failed: %s; retrying", pulled.exception())
                    slots.release()
                    await _close(jobs)
                    await asyncio.wait({stopping}, timeout=1.0)
                    jobs = self.bus.jobs(self.settings.queue)
                    continue
                delivery = pulled.result()
                task = asyncio.ensure_future(self._handle(delivery))
                self._handlers.add(task)

                def _done(t: asyncio.Task[None]) -> None:
                    self._handlers.discard(t)
                    slots.release()

                task.add_done_callback(_done)
        finally:
            stopping.cancel()
            await _close(jobs)

    async def _drain(self) -> None:
        if not self._handlers:
            return
        log.info(
            "waiting up to %gs for %d running job(s)",
            self.settings.shutdown_grace_s,
            len(self._handlers),
        )
        _, pending = await asyncio.wait(set(self._handlers), timeout=self.settings.shutdown_grace_s)
        if pending:
            log.warning("failing %d job(s) still running after the grace period", len(pending))
            for op in list(self._ops.values()):
                op.cancel()
            await asyncio.wait(pending, timeout=60.0)

    async def _heartbeat(self, delivery: Delivery) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                await delivery.in_progress()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)

    async def _handle(self, delivery: Delivery) -> None:
        try:
            job: Job = job_decoder.decode(delivery.data)
        except msgspec.DecodeError as exc:
            log.error("dropping an undecodable job message: %s", exc)
            with contextlib.suppress(Exception):
                await delivery.term()
            return
        kind = "restore" if isinstance(job, RestoreJob) else "backup"
        rep = Reporter(
            self.bus,
            execution_id=job.execution_id,
            kind=kind,
            attempt=delivery.attempt,
            executor_id=self.settings.executor_id,
        )
        heartbeat = asyncio.ensure_future(self._heartbeat(delivery))
        started_at = now()
        try:
            await rep.started()
            if isinstance(job, BackupJob):
                op: asyncio.Task[Finished] = asyncio.ensure_future(
                    run_backup(self.ctx, job, rep, started_at=started_at)
                )
            elif isinstance(job, RestoreJob):
                op = asyncio.ensure_future(run_restore(self.ctx, job, rep, started_at=started_at))
            else:
                op = asyncio.ensure_future(run_upload(self.ctx, job, rep, started_at=started_at))
            self._ops[job.execution_id] = op
            await asyncio.wait({op})
            finished = await self._outcome(job, op, rep, started_at)
            try:
                await rep.finished(finished)
            except Exception as exc:
                # Unacknowledged: JetStream redelivers it once our heartbeats stop.
                log.error("cannot publish the result of %s: %s", job.execution_id, exc)
                return
            with contextlib.suppress(Exception):
                if finished.ok:
                    await delivery.ack()
                else:
                    await delivery.term()
        finally:
            self._ops.pop(job.execution_id, None)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _outcome(
        self,
        job: Job,
        op: asyncio.Task[Finished],
        rep: Reporter,
        started_at: datetime,
    ) -> Finished:
        if op.cancelled():
            message = SHUTDOWN_MESSAGE
            await rep.log("error", f"Failed: {message}")
        else:
            exc = op.exception()
            if exc is None:
                return op.result()
            log.error("job %s crashed", job.execution_id, exc_info=exc)
            message = f"internal error: {type(exc).__name__}"
        if isinstance(job, BackupJob):
            return failed_backup(job, attempt=rep.attempt, started_at=started_at, message=message)
        if not isinstance(job, RestoreJob):
            return failed_upload(job, attempt=rep.attempt, message=message)
        return failed_restore(job, attempt=rep.attempt, started_at=started_at, message=message)


async def _close(jobs: AsyncIterator[Delivery]) -> None:
    aclose = getattr(jobs, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


async def serve(
    settings: Settings, base_env: Mapping[str, str], *, stop: asyncio.Event | None = None
) -> None:
    """Connect to NATS and run the executor until SIGTERM/SIGINT (or `stop`) arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    # The API creates the streams; the executor only finds them (its NATS user may not
    # administer streams) and creates its own queue's consumer.
    bus = await Bus.connect(
        settings.nats,
        name=f"lifeboat-executor-{settings.executor_id}",
        manages_streams=False,
    )
    ctx = Context.create(settings, base_env)
    executor = Executor(ctx, bus)
    beats = Heartbeat(
        bus,
        settings,
        tools=await detect_tools(ctx.toolbox, base_env),
        running=lambda: executor.running_ids,
    )
    beating = asyncio.create_task(beats.run(stop), name="executor-heartbeat")
    try:
        await executor.run(stop)
    finally:
        beating.cancel()
        with contextlib.suppress(BaseException):
            await beating
        # The last word: stopped, nothing running; the API need not wait for it to go stale.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(beats.publish(stopping=True), timeout=2.0)
        await bus.close()
        for sig in installed:
            loop.remove_signal_handler(sig)
