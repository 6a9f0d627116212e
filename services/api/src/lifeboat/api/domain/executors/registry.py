"""The in-memory registry of executors, kept from their heartbeats (core NATS, not stored).

Every executor publishes an :class:`~lifeboat.wire.messages.ExecutorHeartbeat` every
``interval_s``. An executor is *live* while the API heard from it within
:data:`LIVE_INTERVALS` of its interval and its last beat did not say it is stopping; one not
heard from for :data:`FORGET_AFTER` drops out of the list. Nothing is persisted: after an API
restart the registry refills within one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from litestar.di import NamedDependency

from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import ExecutorHeartbeat

log = logging.getLogger(__name__)

LIVE_INTERVALS = 3
"""An executor is live while its last beat is at most this many intervals old."""
FORGET_AFTER = timedelta(minutes=10)
"""An executor not heard from for this long is dropped from the registry."""

_decoder = msgspec.json.Decoder(ExecutorHeartbeat)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ExecutorState:
    """The last beat of one executor and when the API received it."""

    beat: ExecutorHeartbeat
    last_seen: datetime

    def live(self, now: datetime) -> bool:
        """Heard from recently enough, and not stopping."""
        if self.beat.stopping:
            return False
        return now - self.last_seen <= timedelta(seconds=LIVE_INTERVALS * self.beat.interval_s)


class ExecutorRegistry:
    """Executors by id; safe to read from request handlers while beats arrive."""

    def __init__(self, clock: Callable[[], datetime] = _utcnow) -> None:
        # The receive time (our clock) decides liveness, not the beat's own ``at``: the
        # executor's clock may be off.
        self._clock = clock
        self._states: dict[str, ExecutorState] = {}
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The registry's current time."""
        return self._clock()

    def record(self, beat: ExecutorHeartbeat) -> None:
        """Remember `beat` as the latest word of its executor."""
        with self._lock:
            self._states[beat.executor_id] = ExecutorState(beat=beat, last_seen=self._clock())

    def record_raw(self, data: bytes) -> None:
        """Decode and record one heartbeat message; an unreadable one is logged and ignored."""
        try:
            beat = _decoder.decode(data)
        except msgspec.DecodeError as exc:
            log.warning("unreadable executor heartbeat ignored: %s", exc)
            return
        self.record(beat)

    def states(self) -> list[ExecutorState]:
        """Every executor heard from within :data:`FORGET_AFTER`, by queue then id."""
        now = self._clock()
        with self._lock:
            for key, state in list(self._states.items()):
                if now - state.last_seen > FORGET_AFTER:
                    del self._states[key]
            kept = list(self._states.values())
        return sorted(kept, key=lambda s: (s.beat.queue, s.beat.executor_id))

    def live_queues(self) -> set[str]:
        """Queues served by at least one live executor right now."""
        now = self._clock()
        return {s.beat.queue for s in self.states() if s.live(now)}


Executors = NamedDependency[ExecutorRegistry]
"""Annotation for handler parameters receiving the app's registry (``executors: Executors``)."""


async def follow_heartbeats(registry: ExecutorRegistry, bus: Bus) -> None:
    """Record every executor heartbeat until cancelled (run as a task of the app)."""

    async def on_beat(data: bytes) -> None:
        registry.record_raw(data)

    sub = await bus.subscribe(subjects.EXECUTOR_HEARTBEAT, on_beat)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
