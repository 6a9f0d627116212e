"""HTTP handler of /api/schedulers: is a scheduler running, and when was it last heard from."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get

from lifeboat.api.domain.common import Output
from lifeboat.api.domain.schedulers.registry import SchedulerRegistry, Schedulers
from lifeboat.api.envelope import Envelope, ok


class SchedulerOut(Output):
    """One scheduler heard from in the last 24 hours."""

    id: str
    live: bool
    last_seen: datetime
    heartbeat_age_seconds: float
    interval_seconds: float


def scheduler_list(registry: SchedulerRegistry) -> list[SchedulerOut]:
    """Every known scheduler, most recently heard from first."""
    now = registry.now()
    return [
        SchedulerOut(
            id=s.beat.scheduler_id,
            live=s.live(now),
            last_seen=s.last_seen,
            heartbeat_age_seconds=round(s.age_seconds(now), 1),
            interval_seconds=s.beat.interval_s,
        )
        for s in registry.states()
    ]


class SchedulerController(Controller):
    """Scheduler status from heartbeats (not stored: empty for one interval after a restart)."""

    path = "/api/schedulers"
    tags = ["executors"]

    @get("/", summary="List schedulers", opt={"permission": "system.view"})
    async def list_schedulers(self, schedulers: Schedulers) -> Envelope[list[SchedulerOut]]:
        """Schedulers heard from in the last 24 hours; ``live``: heard from within three
        heartbeat intervals. An empty list means no scheduler has run since the API started."""
        return ok(scheduler_list(schedulers))
