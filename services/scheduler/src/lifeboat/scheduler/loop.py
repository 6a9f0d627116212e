"""The scheduler's main loop: stay connected, announce liveness, stop cleanly on SIGTERM.

Firing schedules (KV watch, per-zone cron, de-duplicated fire messages) arrives with the
schedules feature; the process, its connection and its shutdown already behave as they will.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime

import msgspec

from lifeboat.scheduler.settings import SchedulerSettings
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus

log = logging.getLogger(__name__)


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """Published on subjects.SCHEDULER_HEARTBEAT so the API can show scheduler status."""

    scheduler_id: str
    at: datetime


async def run(settings: SchedulerSettings, stop: asyncio.Event | None = None) -> None:
    """Connect to NATS and heartbeat until `stop` is set or SIGTERM/SIGINT arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bus = await _connect_with_retry(settings, stop)
    if bus is None:
        return
    log.info("scheduler %s connected to %s", settings.scheduler_id, settings.nats_url)
    encoder = msgspec.json.Encoder()
    try:
        while not stop.is_set():
            beat = Heartbeat(scheduler_id=settings.scheduler_id, at=datetime.now(UTC))
            await bus.publish(subjects.SCHEDULER_HEARTBEAT, encoder.encode(beat))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.heartbeat_seconds)
    finally:
        await bus.close()
        log.info("scheduler %s stopped", settings.scheduler_id)


async def _connect_with_retry(settings: SchedulerSettings, stop: asyncio.Event) -> Bus | None:
    delay = 0.5
    while not stop.is_set():
        try:
            return await Bus.connect(settings.nats_url, name=f"scheduler-{settings.scheduler_id}")
        except Exception as exc:  # UnavailableError or transient socket errors: keep trying
            log.warning("NATS not reachable (%s); retrying in %.1fs", exc, delay)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                delay = min(delay * 2, 10.0)
    return None
