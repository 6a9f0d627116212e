"""The only module that imports nats: connection, stream set-up, publishing and pulling.

Connecting takes a :class:`~lifeboat.wire.connection.NatsOptions`: a list of servers (a cluster;
nats-py fails over between them and learns the others from the one it reached), credentials
and TLS. Streams and KV buckets are created with ``options.replicas`` replicas, and only by the
process that manages them (the API): the executor and the scheduler only look them up, so a
NATS server can refuse them every stream-administration subject (deploy/nats/cluster/).

JetStream delivers at least once. Jobs are deduplicated on publish by execution id, bounded by
``max_deliver`` and kept alive past ``ack_wait`` by :meth:`Delivery.in_progress` heartbeats; a
job is acknowledged only after its result event was stored by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple, Self

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
from nats.js.kv import KeyValue

from lifeboat.core.errors import UnavailableError
from lifeboat.wire import subjects
from lifeboat.wire.codec import encode
from lifeboat.wire.connection import NatsOptions
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
EVENTS_MAX_AGE_S = 7 * 24 * 3600.0
FIRED_ACK_WAIT_S = 60.0
# Two scheduler replicas (or one restarted) publishing the same slot within this window store
# one message; the API is idempotent per slot beyond it.
FIRED_DUPLICATE_WINDOW_S = 2 * 3600.0
FIRED_MAX_AGE_S = 2 * 24 * 3600.0
# A process that only looks streams up (executor, scheduler) waits this long for the API to
# create them before giving up (its caller retries or the process restarts).
STREAM_WAIT_S = 30.0
STREAM_POLL_S = 0.5


JOB_MAC_HEADER = "Lifeboat-Job-Mac"
"""Header carrying a job message's HMAC (see ``lifeboat.core.crypto.Sealer.mac``)."""


class KvEntry(NamedTuple):
    """A key's value and the revision a compare-and-set must name."""

    value: bytes
    revision: int


def _kv_stream(bucket: str) -> str:
    """The stream behind KV bucket `bucket` (a JetStream convention)."""
    return f"KV_{bucket}"


class KvChange(NamedTuple):
    """One change seen by :meth:`Bus.kv_watch`: a key's new value, or None once deleted."""

    key: str
    value: bytes | None


def job_dedup_id(job: Job) -> str:
    """The JetStream de-duplication id of a job: one per execution, except uploads of a
    completed backup, which may be asked for again after a failed one."""
    if isinstance(job, UploadJob):
        return f"upload-{job.execution_id}-{job.requested_at.timestamp()}"
    return f"job-{job.execution_id}"


class Delivery:
    """One message pulled from a stream, with the acknowledgements JetStream offers."""

    def __init__(self, msg: Msg) -> None:
        self._msg = msg

    @property
    def data(self) -> bytes:
        """The raw payload."""
        return self._msg.data

    @property
    def headers(self) -> dict[str, str]:
        """The message headers (empty when none)."""
        return dict(self._msg.headers or {})

    @property
    def stream_sequence(self) -> int:
        """The message's sequence in its stream (the same for every delivery of it)."""
        return int(self._msg.metadata.sequence.stream)

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

    def __init__(self, nc: Client, *, replicas: int = 1, manages_streams: bool = True) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream()
        self._replicas = replicas
        self._manages_streams = manages_streams

    @classmethod
    async def connect(
        cls,
        options: NatsOptions | str,
        *,
        name: str,
        connect_timeout: float = 5.0,
        manages_streams: bool = True,
    ) -> Self:
        """Connect to the first reachable server of `options` (reconnecting forever afterwards,
        to any server of the cluster) or raise UnavailableError.

        `options` may be a plain ``NATS_URL`` string (comma-separated servers, no credentials).
        With ``manages_streams=False`` the ``ensure_*`` methods only wait for the streams and
        buckets to exist (someone else, the API, creates them).
        """
        if isinstance(options, str):
            options = NatsOptions.from_url(options)

        async def _on_error(exc: Exception) -> None:
            log.warning("nats: %s", exc)

        extra: dict[str, Any] = {}
        if options.user is not None:
            extra["user"] = options.user
            extra["password"] = options.password or ""
        if options.creds_file is not None:
            extra["user_credentials"] = str(options.creds_file)
        if options.nkey_seed_file is not None:
            extra["nkeys_seed"] = str(options.nkey_seed_file)
        if options.inbox_prefix is not None:
            extra["inbox_prefix"] = options.inbox_prefix
        try:
            tls = options.ssl_context()
        except (OSError, ValueError) as exc:
            raise UnavailableError(f"cannot load the NATS TLS files: {exc}") from exc
        try:
            nc = await nats.connect(
                servers=list(options.servers),
                name=name,
                connect_timeout=connect_timeout,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                # A lost node: try the next server of the list soon, not after 2 s each.
                reconnect_time_wait=0.5,
                error_cb=_on_error,
                tls=tls,
                **extra,
            )
        except (OSError, nats.errors.Error) as exc:
            # nats-py's messages name servers, never credentials; the list is shown redacted.
            raise UnavailableError(f"cannot connect to NATS at {options.display}: {exc}") from exc
        return cls(nc, replicas=options.replicas, manages_streams=manages_streams)

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return bool(self._nc.is_connected)

    async def ensure_streams(self) -> None:
        """Create or update the jobs, events and fired streams and the schedules KV (idempotent).

        On a bus that does not manage streams: wait until the jobs and events streams exist.
        """
        if not self._manages_streams:
            await self._await_streams([subjects.JOBS_STREAM, subjects.EVENTS_STREAM])
            return
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
        await self.ensure_scheduling()

    async def ensure_scheduling(self) -> None:
        """Create or update the "schedule fired" stream and the schedules KV bucket (idempotent).

        On a bus that does not manage streams (the scheduler's): wait until both exist.
        """
        if not self._manages_streams:
            await self._await_streams([subjects.FIRED_STREAM, _kv_stream(subjects.SCHEDULES_KV)])
            return
        await self._upsert_stream(
            StreamConfig(
                name=subjects.FIRED_STREAM,
                subjects=[subjects.FIRED_SUBJECTS],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=FIRED_MAX_AGE_S,
                duplicate_window=FIRED_DUPLICATE_WINDOW_S,
            )
        )
        await self.ensure_kv(subjects.SCHEDULES_KV)

    async def _upsert_stream(self, config: StreamConfig) -> None:
        config = dataclasses.replace(config, num_replicas=self._replicas)
        try:
            await self._js.add_stream(config)
        except nats.js.errors.BadRequestError:
            # It exists with another configuration (an upgrade, or NATS_REPLICAS changed).
            await self._js.update_stream(config)

    async def _await_streams(self, names: list[str]) -> None:
        """Return once every stream in `names` exists; UnavailableError after STREAM_WAIT_S."""
        deadline = time.monotonic() + STREAM_WAIT_S
        for stream in names:
            logged = False
            while True:
                try:
                    await self._js.stream_info(stream)
                    break
                except nats.js.errors.NotFoundError:
                    if time.monotonic() > deadline:
                        raise UnavailableError(
                            f"NATS stream {stream} does not exist: is the API running?"
                        ) from None
                    if not logged:
                        log.info("waiting for the API to create the NATS stream %s", stream)
                        logged = True
                    await asyncio.sleep(STREAM_POLL_S)

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

    async def ensure_kv(self, bucket: str) -> None:
        """Create the KV bucket `bucket` (latest value per key only) unless it exists, with the
        configured replicas (an existing bucket is re-replicated when that number changed); a
        bus that does not manage streams only waits for it."""
        if not self._manages_streams:
            await self._await_streams([_kv_stream(bucket)])
            return
        try:
            info = await self._js.stream_info(_kv_stream(bucket))
        except nats.js.errors.NotFoundError:
            await self._js.create_key_value(
                bucket=bucket, history=1, storage=StorageType.FILE, replicas=self._replicas
            )
            return
        if info.config.num_replicas != self._replicas:
            await self._js.update_stream(
                dataclasses.replace(info.config, num_replicas=self._replicas)
            )

    async def _kv(self, bucket: str) -> KeyValue:
        try:
            return await self._js.key_value(bucket)
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"KV bucket {bucket} is not reachable: {exc}") from exc

    async def kv_put(self, bucket: str, key: str, value: bytes) -> None:
        """Set `key` to `value` in `bucket` (UnavailableError when NATS cannot take it)."""
        kv = await self._kv(bucket)
        try:
            await kv.put(key, value)
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot write {bucket}/{key}: {exc}") from exc

    async def kv_delete(self, bucket: str, key: str) -> None:
        """Remove `key` from `bucket` (no error when it is not there)."""
        kv = await self._kv(bucket)
        try:
            await kv.delete(key)
        except nats.js.errors.KeyNotFoundError:
            return
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot delete {bucket}/{key}: {exc}") from exc

    async def kv_keys(self, bucket: str) -> list[str]:
        """Every key currently set in `bucket`."""
        kv = await self._kv(bucket)
        try:
            return list(await kv.keys())
        except nats.js.errors.NoKeysError:
            return []
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot list {bucket}: {exc}") from exc

    async def kv_watch(self, bucket: str) -> AsyncIterator[KvChange | None]:
        """Every key's current value, then None (the snapshot is complete), then each change as
        it happens, until the caller stops iterating. Deleted keys come with ``value=None``."""
        kv = await self._kv(bucket)
        watcher = await kv.watchall()
        try:
            async for entry in watcher:
                if entry is None:
                    yield None
                    continue
                deleted = entry.operation in ("DEL", "PURGE")
                yield KvChange(str(entry.key), None if deleted else bytes(entry.value or b""))
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()

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

    # -- fencing: compare-and-set on the leases KV bucket (see lifeboat.wire.lease) ----------

    async def ensure_fencing(self, *, ttl_s: float) -> None:
        """Create the leases and cancellations KV buckets unless they exist (entries expire
        after `ttl_s`, longer than a job may wait in its queue; configured replicas); a bus
        that does not manage streams only waits for them."""
        buckets = (subjects.LEASES_KV, subjects.CANCELS_KV)
        if not self._manages_streams:
            await self._await_streams([_kv_stream(b) for b in buckets])
            return
        for bucket in buckets:
            try:
                await self._js.stream_info(_kv_stream(bucket))
            except nats.js.errors.NotFoundError:
                with contextlib.suppress(nats.js.errors.BadRequestError):
                    await self._js.create_key_value(
                        bucket=bucket,
                        history=1,
                        ttl=ttl_s,
                        storage=StorageType.FILE,
                        replicas=self._replicas,
                    )

    async def kv_get(self, bucket: str, key: str) -> KvEntry | None:
        """The current value and revision of `key`, or None when it is not set."""
        kv = await self._kv(bucket)
        try:
            entry = await kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return None
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot read {bucket}/{key}: {exc}") from exc
        return KvEntry(bytes(entry.value or b""), int(entry.revision or 0))

    async def kv_create(self, bucket: str, key: str, value: bytes) -> int | None:
        """Set `key` only if it is not set; its revision, or None when it already was."""
        kv = await self._kv(bucket)
        try:
            return int(await kv.create(key, value))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot write {bucket}/{key}: {exc}") from exc

    async def kv_update(self, bucket: str, key: str, value: bytes, *, revision: int) -> int | None:
        """Set `key` only if its revision is still `revision` (compare-and-set); the new
        revision, or None when someone changed it since."""
        kv = await self._kv(bucket)
        try:
            return int(await kv.update(key, value, last=revision))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None
        except (TimeoutError, nats.errors.Error) as exc:
            raise UnavailableError(f"cannot write {bucket}/{key}: {exc}") from exc

    async def subscribe(
        self, subject: str, handler: Callable[[bytes], Awaitable[None]]
    ) -> Subscription:
        """Core NATS subscription (every subscriber gets every message, e.g. heartbeats)."""

        async def _on_msg(msg: Msg) -> None:
            try:
                await handler(msg.data)
            except Exception:  # a handler bug must not kill the subscription
                log.exception("handler for %s failed", subject)

        return await self._nc.subscribe(subject, cb=_on_msg)
