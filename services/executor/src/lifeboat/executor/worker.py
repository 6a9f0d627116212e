"""The executor loop: pull jobs for one queue, run up to N at once, report, ack, drain on stop.

Delivery contract (DESIGN.md): a job is acknowledged only after its finished event was stored
by the server; a job that ran and failed is terminated (never redelivered) after its failed
event was stored; if the finished event cannot be published the job is left unacknowledged
so JetStream redelivers it. Long jobs heartbeat with ``in_progress`` well inside AckWait.
How an attempt's result is recorded and reported is :mod:`lifeboat.executor.outcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from lifeboat.core.errors import UnavailableError
from lifeboat.core.logs import EXECUTION_ID
from lifeboat.executor.backup import run_backup
from lifeboat.executor.connection_check import handle_probe
from lifeboat.executor.context import Context
from lifeboat.executor.heartbeat import Heartbeat, detect_tools
from lifeboat.executor.housekeeping import sweep_periodically
from lifeboat.executor.outcome import (
    Finished,
    cancel_requested,
    outcome,
    record,
    report,
    stopped_result,
    stored_result,
)
from lifeboat.executor.reporter import Reporter, now
from lifeboat.executor.restore import run_restore
from lifeboat.executor.s3 import run_upload
from lifeboat.executor.settings import Settings
from lifeboat.executor.verification import run_verify
from lifeboat.wire import subjects
from lifeboat.wire.bus import (
    JOB_MAC_HEADER,
    JOB_MAX_AGE_S,
    LEASE_TTL_S,
    Bus,
    Delivery,
    job_dedup_id,
)
from lifeboat.wire.codec import encode, job_decoder
from lifeboat.wire.lease import Fence
from lifeboat.wire.logship import start_shipping, stop_shipping
from lifeboat.wire.messages import (
    BackupJob,
    ExecutionKind,
    Job,
    RestoreFinished,
    RestoreJob,
    UploadJob,
    VerifyJob,
)

log = logging.getLogger(__name__)

_KINDS: dict[type, ExecutionKind] = {RestoreJob: "restore", VerifyJob: "verify"}
"""The execution kind of a job type (any other: ``backup``)."""


class Executor:
    """One executor process serving one queue."""

    def __init__(self, ctx: Context, bus: Bus) -> None:
        self.ctx = ctx
        self.bus = bus
        self.settings = ctx.settings
        self._ops: dict[str, asyncio.Task[Finished]] = {}
        self.ready = asyncio.Event()
        """Set once the executor answers probes and pulls jobs (heartbeats wait for it)."""
        self._stops: dict[str, str] = {}
        """Why the heartbeat stopped a job: ``fenced`` or ``cancelled`` (else a shutdown)."""
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
        await self.bus.ensure_fencing(ttl_s=LEASE_TTL_S)
        self.ctx.storage.ensure_root()
        queue = self.settings.queue
        probe_sub = await self.bus.serve(
            subjects.probe_subject(queue),
            subjects.probe_queue_group(queue),
            lambda data: handle_probe(self.ctx, data),
        )
        self.ready.set()
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
        jobs: AsyncIterator[Delivery] = self.bus.jobs(
            self.settings.queue, lease_s=self.settings.lease_s
        )
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
                    jobs = self.bus.jobs(self.settings.queue, lease_s=self.settings.lease_s)
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

    async def _heartbeat(
        self, delivery: Delivery, fence: Fence, op: asyncio.Task[Finished]
    ) -> None:
        """Keep the delivery alive; stop `op` when the user cancelled it or another attempt
        took the job over (a woken stale executor stops here instead of dumping for nothing),
        unless `op` is a restore already changing its target: stopping it there would leave
        the target half restored for certain."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                await delivery.in_progress()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            try:
                # A restore already changing its target is finished, not abandoned: a newer
                # attempt only declared it interrupted, and takes this one's real outcome.
                touching = fence.lease is not None and fence.lease.touched_by == fence.attempt
                if not touching and not await fence.still_mine():
                    self._stops[fence.execution_id] = "fenced"
                    op.cancel()
                    return
                if await cancel_requested(fence):
                    self._stops[fence.execution_id] = "cancelled"
                    op.cancel()
                    return
            except Exception as exc:  # NATS trouble: the holds before each step still guard
                log.warning("lease check failed: %s", exc)

    def _authentic(self, delivery: Delivery) -> Job | None:
        """The job in `delivery` if the API made it (valid MAC) and it is not too old."""
        mac = delivery.headers.get(JOB_MAC_HEADER, "")
        if not mac or not self.ctx.sealer.check_mac(delivery.data, mac):
            log.error("refusing a job message without a valid signature (forged or replayed?)")
            return None
        try:
            job: Job = job_decoder.decode(delivery.data)
        except msgspec.DecodeError as exc:
            log.error("dropping an undecodable job message: %s", exc)
            return None
        age = (now() - job.requested_at).total_seconds()
        if age > JOB_MAX_AGE_S:
            log.error(
                "refusing job %s requested %.0f s ago (older than %g s: a replay)",
                job.execution_id,
                age,
                JOB_MAX_AGE_S,
            )
            return None
        return job

    async def _handle(self, delivery: Delivery) -> None:
        job = self._authentic(delivery)
        if job is None:
            with contextlib.suppress(Exception):
                await delivery.term()
            return
        kind = _KINDS.get(type(job), "backup")
        EXECUTION_ID.set(job.execution_id)  # this job's task only: stamps its log lines
        rep = Reporter(
            self.bus,
            execution_id=job.execution_id,
            kind=kind,
            attempt=delivery.attempt,
            executor_id=self.settings.executor_id,
        )
        fence = Fence(
            self.bus,
            # An upload job is its own execution of a completed backup's copy.
            execution_id=job_dedup_id(job) if isinstance(job, UploadJob) else job.execution_id,
            attempt=delivery.attempt,
            executor_id=self.settings.executor_id,
            message=delivery.stream_sequence,
            # Past the lease the job is redelivered anyway and a late write is refused.
            patience_s=self.settings.lease_s,
        )
        try:
            verdict = await fence.claim(restore=isinstance(job, RestoreJob))
        except UnavailableError as exc:
            log.warning("cannot claim %s (%s); retrying later", job.execution_id, exc)
            with contextlib.suppress(Exception):
                await delivery.nak(delay=2.0)
            return
        if verdict == "stale":
            # A newer delivery owns this message: neither run nor acknowledge it.
            log.warning(
                "attempt %d of %s is stale (lease: attempt %s); not running it",
                delivery.attempt,
                job.execution_id,
                fence.previous.attempt if fence.previous else "?",
            )
            return
        if verdict == "duplicate":
            # Another message of the same execution (a replay) holds it; this one is spare.
            log.warning("refusing a duplicate job message for %s", job.execution_id)
            with contextlib.suppress(Exception):
                await delivery.term()
            return
        if verdict == "ended":
            await self._republish(delivery, fence, rep)
            return
        if verdict == "interrupted":
            await self._interrupted(delivery, job, fence, rep)
            return
        await self._run(delivery, job, fence, rep)

    async def _republish(self, delivery: Delivery, fence: Fence, rep: Reporter) -> None:
        """The execution already ended (a redelivery after its result was recorded, or a
        replay): publish the stored result again; the API keeps the first one it got."""
        stored = fence.previous.result if fence.previous else None
        log.info("%s already finished; publishing its stored result again", rep.execution_id)
        if not stored:
            with contextlib.suppress(Exception):
                await delivery.ack()
            return
        try:
            result = stored_result(stored)
        except (msgspec.DecodeError, TypeError) as exc:
            log.error("unreadable stored result of %s: %s", rep.execution_id, exc)
            return
        await report(delivery, rep, result, done=True)

    async def _interrupted(self, delivery: Delivery, job: Job, fence: Fence, rep: Reporter) -> None:
        """A restore whose older attempt started changing the target and went silent: never
        run it again; say what may have happened to the target."""
        assert isinstance(job, RestoreJob) and fence.previous is not None
        touched_by = fence.previous.touched_by
        message = (
            f"the executor stopped responding while restoring (attempt {touched_by} on"
            f" {fence.previous.executor_id}); the target may be partly restored. It was not"
            " restored again: check the target, then restore once more if needed"
        )
        result = RestoreFinished(
            execution_id=job.execution_id,
            attempt=delivery.attempt,
            ok=False,
            started_at=fence.previous.at,
            finished_at=now(),
            error_message=message,
            interrupted_attempt=touched_by,
        )
        if not await fence.conclude(encode(result), touched_by=touched_by):
            log.warning("%s: the lease changed while concluding; leaving it", job.execution_id)
            return
        await rep.log("error", f"Failed: {message}")
        await report(delivery, rep, result, done=False)

    async def _run(self, delivery: Delivery, job: Job, fence: Fence, rep: Reporter) -> None:
        started_at = now()
        op: asyncio.Task[Finished] | None = None
        heartbeat: asyncio.Task[None] | None = None
        try:
            if await cancel_requested(fence):
                finished: Finished | None = stopped_result(job, rep, started_at, cancelled=True)
            else:
                if delivery.attempt > 1:
                    await rep.log(
                        "warn",
                        f"Attempt {delivery.attempt}: the executor of the previous attempt"
                        " stopped responding; this executor took the job over",
                    )
                await rep.started()
                op = asyncio.ensure_future(self._operation(job, rep, fence, started_at))
                self._ops[job.execution_id] = op
                heartbeat = asyncio.ensure_future(self._heartbeat(delivery, fence, op))
                await asyncio.wait({op})
                finished = await outcome(
                    job,
                    op,
                    rep,
                    fence,
                    started_at,
                    stop_reason=self._stops.get(fence.execution_id),
                )
            if finished is None:
                return  # fenced: another attempt owns the record
            finished = await record(self.ctx, job, fence, rep, finished)
            if finished is not None:
                await report(delivery, rep, finished, done=finished.ok)
        finally:
            self._ops.pop(job.execution_id, None)
            self._stops.pop(fence.execution_id, None)
            if heartbeat is not None:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    def _operation(
        self, job: Job, rep: Reporter, fence: Fence, started_at: datetime
    ) -> Coroutine[Any, Any, Finished]:
        if isinstance(job, BackupJob):
            return run_backup(self.ctx, job, rep, fence, started_at=started_at)
        if isinstance(job, RestoreJob):
            return run_restore(self.ctx, job, rep, fence, started_at=started_at)
        if isinstance(job, VerifyJob):
            return run_verify(self.ctx, job, rep, fence, started_at=started_at)
        return run_upload(self.ctx, job, rep, started_at=started_at)


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

    async def beat_once_ready() -> None:
        # An executor is announced live only once it can take jobs and answer probes.
        await executor.ready.wait()
        await beats.run(stop)

    beating = asyncio.create_task(beat_once_ready(), name="executor-heartbeat")
    shipper = start_shipping("executor", settings.executor_id)
    shipping = asyncio.create_task(shipper.run(bus), name="executor-log-shipper")
    sweeping = asyncio.create_task(
        sweep_periodically(
            settings.storage_path,
            older_than=timedelta(seconds=settings.partial_file_max_age_s),
            interval=settings.sweep_interval_s,
            stop=stop,
        ),
        name="executor-sweep",
    )
    try:
        await executor.run(stop)
    finally:
        for task in (beating, sweeping, shipping):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        stop_shipping(shipper)
        # The last word: stopped, nothing running; the API need not wait for it to go stale.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(beats.publish(stopping=True), timeout=2.0)
        await bus.close()
        for sig in installed:
            loop.remove_signal_handler(sig)
