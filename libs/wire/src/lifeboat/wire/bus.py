"""The only module that imports nats: connection, stream set-up, publishing and pulling.

JetStream delivers at least once. Jobs are deduplicated on publish by execution id, bounded by
``max_deliver`` and kept alive past ``ack_wait`` by :meth:`Delivery.in_progress` heartbeats; a
job is acknowledged only after its result event was stored by the server.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext

from lifeboat.core.errors import UnavailableError
from lifeboat.wire import subjects
from lifeboat.wire.codec import encode
from lifeboat.wire.messages import Event, Job

log = logging.getLogger(__name__)

JOB_ACK_WAIT_S = 60.0
JOB_MAX_DELIVER = 3
EVENT_ACK_WAIT_S = 30.0
EVENTS_MAX_AGE_S = 7 * 24 * 3600.0


class Delivery:
    """One message pulled from a stream, with the acknowledgements JetStream offers."""

    def __init__(self, msg: Msg) -> None:
        self._msg = msg

    @property
    def data(self) -> bytes:
        """The raw payload."""
        return self._msg.data

    @property
    def attempt(self) -> int:
        """How many times this message has been delivered, this delivery included."""
        return int(self._msg.metadata.num_delivered)

    async def ack(self) -> None:
        """Done: the server forgets the message (waits for the server's confirmation)."""
        await self._msg.ack_sync()

    async def nak(self, delay: float | None = None) -> None:
        """Retryable failure: redeliver after `delay` seconds."""
        await self._msg.nak(delay=delay)

    async def term(self) -> None:
        """Permanent failure: never redeliver."""
        await self._msg.term()

    async def in_progress(self) -> None:
        """Heartbeat: reset the ack timer of a long job."""
        await self._msg.in_progress()


class Bus:
    """A connection to NATS with the streams Lifeboat uses."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream()

    @classmethod
    async def connect(cls, url: str, *, name: str, connect_timeout: float = 5.0) -> Bus:
        """Connect (reconnecting forever afterwards) or raise UnavailableError."""

        async def _on_error(exc: Exception) -> None:
            log.warning("nats: %s", exc)

        try:
            nc = await nats.connect(
                servers=[url],
                name=name,
                connect_timeout=connect_timeout,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                error_cb=_on_error,
            )
        except (OSError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot connect to NATS at {url}: {exc}") from exc
        return cls(nc)

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return bool(self._nc.is_connected)

    async def ensure_streams(self) -> None:
        """Create or update the jobs and events streams (idempotent)."""
        await self._upsert_stream(
            StreamConfig(
                name=subjects.JOBS_STREAM,
                subjects=[subjects.JOBS_SUBJECTS],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=300.0,
            )
        )
        await self._upsert_stream(
            StreamConfig(
                name=subjects.EVENTS_STREAM,
                subjects=[subjects.EVENTS_SUBJECTS],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=EVENTS_MAX_AGE_S,
            )
        )

    async def _upsert_stream(self, config: StreamConfig) -> None:
        try:
            await self._js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await self._js.update_stream(config)

    async def publish_job(self, queue: str, job: Job) -> None:
        """Publish a job; a second publish of the same execution id is dropped by the server."""
        try:
            await self._js.publish(
                subjects.job_subject(queue),
                encode(job),
                timeout=5.0,
                headers={"Nats-Msg-Id": f"job-{job.execution_id}"},
            )
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot queue the job on NATS: {exc}") from exc

    async def publish_event(self, kind: str, event: Event) -> None:
        """Store an event in the events stream; returns once the server has it."""
        await self._js.publish(
            subjects.event_subject(kind, event.execution_id), encode(event), timeout=10.0
        )

    async def _pull(
        self, subject: str, durable: str, config: ConsumerConfig, batch: int
    ) -> AsyncIterator[Delivery]:
        sub = await self._js.pull_subscribe(subject, durable=durable, config=config)
        try:
            while True:
                try:
                    msgs = await sub.fetch(batch, timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                for msg in msgs:
                    yield Delivery(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def jobs(self, queue: str) -> AsyncIterator[Delivery]:
        """Pull jobs for `queue` one at a time (shared durable consumer: each job to one executor)."""
        config = ConsumerConfig(
            durable_name=subjects.executor_consumer(queue),
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=JOB_ACK_WAIT_S,
            max_deliver=JOB_MAX_DELIVER,
            filter_subject=subjects.job_subject(queue),
            max_ack_pending=1000,
        )
        return self._pull(
            subjects.job_subject(queue), subjects.executor_consumer(queue), config, batch=1
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
        return self._pull(subjects.EVENTS_SUBJECTS, subjects.EVENTS_CONSUMER, config, batch=64)

    async def request(self, subject: str, payload: bytes, *, timeout: float) -> bytes:
        """Core NATS request/reply; UnavailableError when nobody answers in time."""
        try:
            reply = await self._nc.request(subject, payload, timeout=timeout)
        except nats.errors.NoRespondersError as exc:
            raise UnavailableError(f"no service is listening on {subject}") from exc
        except (TimeoutError, nats.errors.TimeoutError) as exc:
            raise UnavailableError(f"no answer on {subject} within {timeout:g}s") from exc
        return reply.data

    async def serve(
        self, subject: str, queue_group: str, handler: Callable[[bytes], Awaitable[bytes]]
    ) -> Subscription:
        """Answer requests on `subject`, one responder of `queue_group` per request."""

        async def _on_msg(msg: Msg) -> None:
            try:
                answer = await handler(msg.data)
            except Exception:  # a handler bug must not kill the subscription
                log.exception("handler for %s failed", subject)
                return
            if msg.reply:
                await msg.respond(answer)

        return await self._nc.subscribe(subject, queue=queue_group, cb=_on_msg)

    async def publish(self, subject: str, payload: bytes) -> None:
        """Fire-and-forget core NATS publish (heartbeats)."""
        await self._nc.publish(subject, payload)

    async def stream_info(self, name: str) -> dict[str, Any]:
        """Message and consumer counts of a stream, for status pages."""
        info = await self._js.stream_info(name)
        state: Any = info.state
        return {"messages": int(state.messages), "consumers": int(state.consumer_count)}

    async def close(self) -> None:
        """Drain subscriptions and close."""
        with contextlib.suppress(Exception):
            await self._nc.drain()


def encode_struct(message: msgspec.Struct) -> bytes:
    """Re-export of the codec encoder for callers that only hold a Bus."""
    return encode(message)
