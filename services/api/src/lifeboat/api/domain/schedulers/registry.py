"""The in-memory registry of schedulers, kept from their heartbeats (core NATS, not stored).

A scheduler publishes a :class:`~lifeboat.wire.messages.SchedulerHeartbeat` every
``interval_s``; it is *live* while the API heard from it within :data:`LIVE_INTERVALS`
intervals. Like the executor registry, it refills within one interval after an API restart.
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
from lifeboat.wire.messages import SchedulerHeartbeat

log = logging.getLogger(__name__)

LIVE_INTERVALS = 3
FORGET_AFTER = timedelta(hours=24)
"""A scheduler not heard from for this long is dropped (until then it shows as not live)."""

_decoder = msgspec.json.Decoder(SchedulerHeartbeat)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SchedulerState:
    """The last beat of one scheduler and when the API received it."""

    beat: SchedulerHeartbeat
    last_seen: datetime

    def age_seconds(self, now: datetime) -> float:
        """Seconds since the API last heard from this scheduler."""
        return max(0.0, (now - self.last_seen).total_seconds())

    def live(self, now: datetime) -> bool:
        """Heard from within :data:`LIVE_INTERVALS` of its interval."""
        return self.age_seconds(now) <= LIVE_INTERVALS * self.beat.interval_s


class SchedulerRegistry:
    """Schedulers by id; safe to read from request handlers while beats arrive."""

    def __init__(self, clock: Callable[[], datetime] = _utcnow) -> None:
        self._clock = clock
        self._states: dict[str, SchedulerState] = {}
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The registry's current time."""
        return self._clock()

    def record(self, beat: SchedulerHeartbeat) -> None:
        """Remember `beat` as the latest word of its scheduler."""
        with self._lock:
            self._states[beat.scheduler_id] = SchedulerState(beat=beat, last_seen=self._clock())

    def record_raw(self, data: bytes) -> None:
        """Decode and record one heartbeat; an unreadable one is logged and ignored."""
        try:
            beat = _decoder.decode(data)
        except msgspec.DecodeError as exc:
            log.warning("unreadable scheduler heartbeat ignored: %s", exc)
            return
        self.record(beat)

    def states(self) -> list[SchedulerState]:
        """Every scheduler heard from within :data:`FORGET_AFTER`, most recent first."""
        now = self._clock()
        with self._lock:
            for key, state in list(self._states.items()):
                if now - state.last_seen > FORGET_AFTER:
                    del self._states[key]
            kept = list(self._states.values())
        return sorted(kept, key=lambda s: s.last_seen, reverse=True)

    def live_count(self) -> int:
        """How many schedulers are live right now."""
        now = self._clock()
        return sum(1 for s in self.states() if s.live(now))


Schedulers = NamedDependency[SchedulerRegistry]
"""Annotation for handler parameters receiving the app's registry (``schedulers: Schedulers``)."""


async def follow_scheduler_heartbeats(registry: SchedulerRegistry, bus: Bus) -> None:
    """Record every scheduler heartbeat until cancelled (run as a task of the app)."""

    async def on_beat(data: bytes) -> None:
        registry.record_raw(data)

    sub = await bus.subscribe(subjects.SCHEDULER_HEARTBEAT, on_beat)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
