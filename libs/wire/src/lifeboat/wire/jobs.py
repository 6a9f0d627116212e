"""Job, event and "schedule fired" messages: publishing them and pulling them with durable
consumers.

JetStream delivers at least once. Jobs are deduplicated on publish by execution id, bounded by
``max_deliver`` and kept alive past ``ack_wait`` by :meth:`Delivery.in_progress` heartbeats; a
job is acknowledged only after its result event was stored by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from lifeboat.core.errors import UnavailableError
from lifeboat.wire import subjects
from lifeboat.wire.base import BusBase
from lifeboat.wire.codec import encode
from lifeboat.wire.delivery import Delivery
from lifeboat.wire.messages import ExecutorEvent, Job, ScheduleFired, UploadJob

log = logging.getLogger(__name__)

JOB_ACK_WAIT_S = 30.0
JOB_MAX_DELIVER = 5
JOB_PUBLISH_PATIENCE_S = 12.0
"""How long publishing a job keeps retrying before the request fails (503)."""
JOB_MAX_AGE_S = 7 * 24 * 3600.0
"""Executors refuse a job message older than this (a replay); leases outlive it."""
LEASE_TTL_S = 2 * JOB_MAX_AGE_S
EVENT_ACK_WAIT_S = 30.0
FIRED_ACK_WAIT_S = 60.0

JOB_MAC_HEADER = "Lifeboat-Job-Mac"
"""Header carrying a job message's HMAC (see ``lifeboat.core.crypto.Sealer.mac``)."""


def job_dedup_id(job: Job) -> str:
    """The JetStream de-duplication id of a job: one per execution, except uploads of a
    completed backup, which may be asked for again after a failed one."""
    if isinstance(job, UploadJob):
        return f"upload-{job.execution_id}-{job.requested_at.timestamp()}"
    return f"job-{job.execution_id}"


class JobQueues(BusBase):
    """Publishing and pulling jobs, executor events and schedule fires."""

    async def publish_job(
        self, queue: str, job: Job, *, sign: Callable[[bytes], str] | None = None
    ) -> None:
        """Publish a job; a second publish of the same execution id is dropped by the server.

        `sign` authenticates the message (its result goes in the :data:`JOB_MAC_HEADER`
        header; executors refuse jobs without a valid one)."""
        data = encode(job)
        headers = {"Nats-Msg-Id": job_dedup_id(job)}
        if sign is not None:
            headers[JOB_MAC_HEADER] = sign(data)
        # A cluster electing a new stream leader (a node died) or a client failing over
        # answers nothing for a few seconds: publish again; the message id makes it once.
        deadline = time.monotonic() + JOB_PUBLISH_PATIENCE_S
        while True:
            try:
                await self._js.publish(
                    subjects.job_subject(queue), data, timeout=4.0, headers=headers
                )
                return
            except (TimeoutError, nats.errors.Error) as exc:
                if time.monotonic() >= deadline:
                    raise UnavailableError(f"cannot queue the job on NATS: {exc}") from exc
                log.warning("queueing job %s failed (%s); retrying", job.execution_id, exc)
                await asyncio.sleep(0.5)

    async def publish_event(self, kind: str, event: ExecutorEvent) -> None:
        """Store an event in the events stream; returns once the server has it."""
        await self._js.publish(
            subjects.event_subject(kind, event.execution_id), encode(event), timeout=10.0
        )

    async def _pull(
        self, subject: str, durable: str, config: ConsumerConfig, *, upsert: bool = False
    ) -> AsyncIterator[Delivery]:
        if upsert:
            # pull_subscribe keeps an existing consumer as it is; the lease (AckWait) is a
            # setting, so apply it (every executor of a queue should use the same value).
            with contextlib.suppress(nats.js.errors.Error, TimeoutError):
                await self._js.add_consumer(subjects.JOBS_STREAM, config=config)
        sub = await self._js.pull_subscribe(subject, durable=durable, config=config)
        try:
            while True:
                try:
                    # One message per fetch: nats-py's fetch of N, once its waiting request
                    # got a first message, holds on for the other N-1 until the timeout, so
                    # a lone event (a backup's result) would sit there for up to a second.
                    msgs = await sub.fetch(1, timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                for msg in msgs:
                    yield Delivery(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def jobs(self, queue: str, *, lease_s: float = JOB_ACK_WAIT_S) -> AsyncIterator[Delivery]:
        """Pull jobs for `queue` one at a time (shared durable consumer: each job to one
        executor). `lease_s` is the AckWait: a job whose executor stays silent that long goes
        to another executor (see ``lifeboat.wire.lease`` for why that is safe)."""
        config = ConsumerConfig(
            # `name` too: nats-py then creates it on $JS.API.CONSUMER.CREATE.<stream>.<name>.
            # <filter>, a subject a NATS server can allow per queue (deploy/nats/cluster/).
            name=subjects.executor_consumer(queue),
            durable_name=subjects.executor_consumer(queue),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=lease_s,
            max_deliver=JOB_MAX_DELIVER,
            filter_subject=subjects.job_subject(queue),
            max_ack_pending=1000,
        )
        return self._pull(
            subjects.job_subject(queue), subjects.executor_consumer(queue), config, upsert=True
        )

    def events(self) -> AsyncIterator[Delivery]:
        """Pull executor events in stream order with the API's durable consumer."""
        config = ConsumerConfig(
            durable_name=subjects.EVENTS_CONSUMER,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=EVENT_ACK_WAIT_S,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=256,
        )
        return self._pull(subjects.EVENTS_SUBJECTS, subjects.EVENTS_CONSUMER, config)

    async def publish_fired(self, fired: ScheduleFired) -> bool:
        """Store a "schedule fired" message under its de-duplication id.

        Returns False when the server already had a message with that id (another scheduler
        replica fired the slot first); raises UnavailableError when NATS cannot take it.
        """
        try:
            ack = await self._js.publish(
                subjects.fired_subject(fired.schedule_id),
                encode(fired),
                timeout=5.0,
                headers={"Nats-Msg-Id": fired.dedup_id},
            )
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot publish the schedule fire on NATS: {exc}") from exc
        return not ack.duplicate

    def fired(self) -> AsyncIterator[Delivery]:
        """Pull "schedule fired" messages with the API's durable consumer.

        Deliveries are unbounded (``max_deliver`` -1) because a retry waits in the stream,
        nak'ed with a delay, until its ``not_before`` time.
        """
        config = ConsumerConfig(
            durable_name=subjects.FIRED_CONSUMER,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=FIRED_ACK_WAIT_S,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=-1,
            max_ack_pending=256,
        )
        return self._pull(subjects.FIRED_SUBJECTS, subjects.FIRED_CONSUMER, config)

    async def follow_exhausted_jobs(
        self, handler: Callable[[bytes], Awaitable[None]]
    ) -> Subscription:
        """Call `handler` with every job message that was delivered ``JOB_MAX_DELIVER`` times
        without finishing (each executor that took it died or went silent), then remove it
        from the jobs stream. Announced by the server as a core NATS advisory: a job exhausted
        while nobody listens is not seen."""

        async def on_advisory(msg: Msg) -> None:
            try:
                seq = int(json.loads(msg.data)["stream_seq"])
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable max-deliveries advisory ignored")
                return
            try:
                raw = await self._js.get_msg(subjects.JOBS_STREAM, seq)
            except nats.js.errors.NotFoundError:
                return
            except (TimeoutError, nats.errors.Error) as exc:
                log.warning("cannot read exhausted job %d: %s", seq, exc)
                return
            try:
                await handler(bytes(raw.data or b""))
            except Exception:
                log.exception("handling exhausted job %d failed", seq)
                return
            with contextlib.suppress(TimeoutError, nats.errors.Error):
                await self._js.delete_msg(subjects.JOBS_STREAM, seq)

        return await self._nc.subscribe(subjects.JOBS_MAX_DELIVERIES, cb=on_advisory)
