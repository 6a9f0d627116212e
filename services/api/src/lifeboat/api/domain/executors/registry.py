"""The in-memory registry of executors, kept from their heartbeats (core NATS, not stored).

Every executor publishes an :class:`~lifeboat.wire.messages.ExecutorHeartbeat` every
``interval_s``. An executor is *live* while the API heard from it within
:data:`LIVE_INTERVALS` of its interval and its last beat did not say it is stopping; one not
heard from for :data:`FORGET_AFTER` drops out of the list. Nothing is persisted: after an API
restart the registry refills within one interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from litestar.di import NamedDependency

from lifeboat.api.domain.heartbeats import Heard, HeartbeatRegistry, follow, utcnow
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import ExecutorHeartbeat

LIVE_INTERVALS = 3
"""An executor is live while its last beat is at most this many intervals old."""
FORGET_AFTER = timedelta(minutes=10)
"""An executor not heard from for this long is dropped from the registry."""


@dataclass(frozen=True, slots=True)
class ExecutorState(Heard[ExecutorHeartbeat]):
    """The last beat of one executor and when the API received it."""

    def live(self, now: datetime) -> bool:
        """Heard from recently enough, and not stopping."""
        if self.beat.stopping:
            return False
        return now - self.last_seen <= timedelta(seconds=LIVE_INTERVALS * self.beat.interval_s)


class ExecutorRegistry(HeartbeatRegistry[ExecutorHeartbeat]):
    """Executors by id; safe to read from request handlers while beats arrive."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(
            msgspec.json.Decoder(ExecutorHeartbeat),
            key=lambda beat: beat.executor_id,
            what="executor",
            forget_after=FORGET_AFTER,
            clock=clock,
        )

    def states(self) -> list[ExecutorState]:
        """Every executor heard from within :data:`FORGET_AFTER`, by queue then id."""
        states = [ExecutorState(beat=h.beat, last_seen=h.last_seen) for h in self.heard()]
        return sorted(states, key=lambda s: (s.beat.queue, s.beat.executor_id))

    def live_queues(self) -> set[str]:
        """Queues served by at least one live executor right now."""
        now = self.now()
        return {s.beat.queue for s in self.states() if s.live(now)}


Executors = NamedDependency[ExecutorRegistry]
"""Annotation for handler parameters receiving the app's registry (``executors: Executors``)."""


async def follow_heartbeats(registry: ExecutorRegistry, bus: Bus) -> None:
    """Record every executor heartbeat until cancelled (run as a task of the app)."""
    await follow(registry, bus, subjects.EXECUTOR_HEARTBEAT)
