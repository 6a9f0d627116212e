"""Creating the streams and KV buckets Lifeboat uses (by the API), or waiting for them (by the
executor and the scheduler, which a NATS server may refuse stream administration)."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import nats.js.errors
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from lifeboat.wire import subjects
from lifeboat.wire.base import BusBase, kv_stream

EVENTS_MAX_AGE_S = 7 * 24 * 3600.0
# Two scheduler replicas (or one restarted) publishing the same slot within this window store
# one message; the API is idempotent per slot beyond it.
FIRED_DUPLICATE_WINDOW_S = 2 * 3600.0
FIRED_MAX_AGE_S = 2 * 24 * 3600.0


class StreamSetup(BusBase):
    """Stream and KV bucket administration, with the configured number of replicas."""

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
            await self._await_streams([subjects.FIRED_STREAM, kv_stream(subjects.SCHEDULES_KV)])
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

    async def ensure_kv(self, bucket: str) -> None:
        """Create the KV bucket `bucket` (latest value per key only) unless it exists, with the
        configured replicas (an existing bucket is re-replicated when that number changed); a
        bus that does not manage streams only waits for it."""
        if not self._manages_streams:
            await self._await_streams([kv_stream(bucket)])
            return
        try:
            info = await self._js.stream_info(kv_stream(bucket))
        except nats.js.errors.NotFoundError:
            await self._js.create_key_value(
                bucket=bucket, history=1, storage=StorageType.FILE, replicas=self._replicas
            )
            return
        if info.config.num_replicas != self._replicas:
            await self._js.update_stream(
                dataclasses.replace(info.config, num_replicas=self._replicas)
            )

    async def ensure_fencing(self, *, ttl_s: float) -> None:
        """Create the leases and cancellations KV buckets unless they exist (entries expire
        after `ttl_s`, longer than a job may wait in its queue; configured replicas); a bus
        that does not manage streams only waits for them."""
        buckets = (subjects.LEASES_KV, subjects.CANCELS_KV)
        if not self._manages_streams:
            await self._await_streams([kv_stream(b) for b in buckets])
            return
        for bucket in buckets:
            try:
                await self._js.stream_info(kv_stream(bucket))
            except nats.js.errors.NotFoundError:
                with contextlib.suppress(nats.js.errors.BadRequestError):
                    await self._js.create_key_value(
                        bucket=bucket,
                        history=1,
                        ttl=ttl_s,
                        storage=StorageType.FILE,
                        replicas=self._replicas,
                    )

    async def stream_info(self, name: str) -> dict[str, Any]:
        """Message and consumer counts of a stream, for status pages."""
        info = await self._js.stream_info(name)
        state: Any = info.state
        return {"messages": int(state.messages), "consumers": int(state.consumer_count)}

    async def queue_depth(self, queue: str) -> tuple[int, int]:
        """``(waiting, in flight)`` jobs of `queue`: not yet delivered to an executor, and
        delivered but not acknowledged. Before any executor of the queue made its consumer,
        every job of the queue in the stream is waiting."""
        try:
            info: Any = await self._js.consumer_info(
                subjects.JOBS_STREAM, subjects.executor_consumer(queue)
            )
            return int(info.num_pending or 0), int(info.num_ack_pending or 0)
        except nats.js.errors.NotFoundError:
            subject = subjects.job_subject(queue)
            stream: Any = await self._js.stream_info(subjects.JOBS_STREAM, subjects_filter=subject)
            counts: dict[str, int] = stream.state.subjects or {}
            return int(counts.get(subject, 0)), 0
