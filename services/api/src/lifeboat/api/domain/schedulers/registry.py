"""The in-memory registry of schedulers, kept from their heartbeats (core NATS, not stored).

A scheduler publishes a :class:`~lifeboat.wire.messages.SchedulerHeartbeat` every
``interval_s``; it is *live* while the API heard from it within :data:`LIVE_INTERVALS`
intervals. Like the executor registry, it refills within one interval after an API restart.
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
from lifeboat.wire.messages import SchedulerHeartbeat

LIVE_INTERVALS = 3
FORGET_AFTER = timedelta(hours=24)
"""A scheduler not heard from for this long is dropped (until then it shows as not live)."""


@dataclass(frozen=True, slots=True)
class SchedulerState(Heard[SchedulerHeartbeat]):
    """The last beat of one scheduler and when the API received it."""

    def live(self, now: datetime) -> bool:
        """Heard from within :data:`LIVE_INTERVALS` of its interval."""
        return self.age_seconds(now) <= LIVE_INTERVALS * self.beat.interval_s


class SchedulerRegistry(HeartbeatRegistry[SchedulerHeartbeat]):
    """Schedulers by id; safe to read from request handlers while beats arrive."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(
            msgspec.json.Decoder(SchedulerHeartbeat),
            key=lambda beat: beat.scheduler_id,
            what="scheduler",
            forget_after=FORGET_AFTER,
            clock=clock,
        )

    def states(self) -> list[SchedulerState]:
        """Every scheduler heard from within :data:`FORGET_AFTER`, most recent first."""
        states = [SchedulerState(beat=h.beat, last_seen=h.last_seen) for h in self.heard()]
        return sorted(states, key=lambda s: s.last_seen, reverse=True)

    def live_count(self) -> int:
        """How many schedulers are live right now."""
        now = self.now()
        return sum(1 for s in self.states() if s.live(now))


Schedulers = NamedDependency[SchedulerRegistry]
"""Annotation for handler parameters receiving the app's registry (``schedulers: Schedulers``)."""


async def follow_scheduler_heartbeats(registry: SchedulerRegistry, bus: Bus) -> None:
    """Record every scheduler heartbeat until cancelled (run as a task of the app)."""
    await follow(registry, bus, subjects.SCHEDULER_HEARTBEAT)
