"""The scheduler's main loop: watch the schedules, fire due slots, heartbeat, stop on SIGTERM.

* A watch on the schedules KV bucket (:data:`lifeboat.wire.subjects.SCHEDULES_KV`) keeps the
  :class:`~lifeboat.scheduler.planner.Planner` up to date, so edits apply within a second; the
  watch is rebuilt from a fresh snapshot every ``rewatch_seconds`` (and after any error).
* Every ``tick_ms`` the planner says which slots are due; each becomes a
  :class:`~lifeboat.wire.messages.ScheduleFired` in the FIRED stream whose message id is
  ``<schedule id>:<slot>``, so several replicas (or a restarted one) store it once.
* A slot is remembered as fired only once the server stored it: while NATS is unreachable the
  slot stays due and is published as soon as it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from lifeboat.core.errors import LifeboatError
from lifeboat.scheduler.planner import Planner
from lifeboat.scheduler.settings import SchedulerSettings
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import schedule_entry_decoder
from lifeboat.wire.logship import start_shipping, stop_shipping
from lifeboat.wire.messages import ScheduleEntry, ScheduleFired, SchedulerHeartbeat

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


Heartbeat = SchedulerHeartbeat
"""Published on subjects.SCHEDULER_HEARTBEAT so the API can show scheduler status."""


def offset_clock(offset_seconds: float) -> Clock:
    """The current UTC time, shifted by `offset_seconds` (0 in production)."""
    offset = timedelta(seconds=offset_seconds)
    return lambda: datetime.now(UTC) + offset


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _decode(key: str, value: bytes) -> ScheduleEntry | None:
    try:
        return schedule_entry_decoder.decode(value)
    except msgspec.DecodeError as exc:
        log.warning("unreadable schedule %s in the KV bucket ignored: %s", key, exc)
        return None


async def watch_schedules(
    bus: Bus, planner: Planner, stop: asyncio.Event, *, rewatch_seconds: float
) -> None:
    """Keep `planner` in step with the schedules KV bucket until `stop` is set."""
    while not stop.is_set():
        try:
            async with asyncio.timeout(rewatch_seconds):
                snapshot: dict[str, ScheduleEntry] | None = {}
                async for change in bus.kv_watch(subjects.SCHEDULES_KV):
                    if change is None:
                        if snapshot is not None:
                            planner.replace_all(snapshot)
                            log.info("watching %d enabled schedule(s)", len(snapshot))
                            snapshot = None
                        continue
                    entry = None if change.value is None else _decode(change.key, change.value)
                    if snapshot is not None:
                        if entry is None:
                            snapshot.pop(change.key, None)
                        else:
                            snapshot[change.key] = entry
                    elif entry is None:
                        planner.remove(change.key)
                        log.info("schedule %s withdrawn", change.key)
                    else:
                        planner.upsert(entry)
                        log.info("schedule %s updated (%s)", change.key, entry.cron_expression)
        except TimeoutError:
            continue  # periodic rebuild of the watch
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS hiccup or a missing bucket: watch again shortly
            log.warning("schedules watch interrupted (%s); restarting", exc)
            await _sleep(stop, 1.0)


async def fire_due(bus: Bus, planner: Planner, now: datetime, scheduler_id: str) -> int:
    """Publish every slot due at `now`; returns how many were published (new or duplicate)."""
    fires, problems = planner.due(now)
    for problem in problems:
        log.error("schedule %s cannot be planned: %s", problem.schedule_id, problem.message)
    published = 0
    for fire in fires:
        message = ScheduleFired(
            schedule_id=fire.schedule_id,
            slot=fire.slot,
            fired_at=now,
            scheduler_id=scheduler_id,
        )
        try:
            stored = await bus.publish_fired(message)
        except LifeboatError as exc:
            log.warning("could not fire schedule %s: %s; will retry", fire.schedule_id, exc)
            break
        planner.mark_fired(fire)
        published += 1
        if stored:
            log.info("schedule %s fired for %s", fire.schedule_id, fire.slot.isoformat())
        else:
            log.debug("schedule %s slot %s already fired", fire.schedule_id, fire.slot.isoformat())
    return published


async def _tick(
    bus: Bus, planner: Planner, stop: asyncio.Event, settings: SchedulerSettings, clock: Clock
) -> None:
    while not stop.is_set():
        try:
            await fire_due(bus, planner, clock(), settings.scheduler_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one tick must not stop the scheduler
            log.exception("scheduler tick failed")
        await _sleep(stop, settings.tick_ms / 1000)


async def _heartbeat(bus: Bus, stop: asyncio.Event, settings: SchedulerSettings) -> None:
    encoder = msgspec.json.Encoder()
    while not stop.is_set():
        beat = SchedulerHeartbeat(
            scheduler_id=settings.scheduler_id,
            at=datetime.now(UTC),
            interval_s=float(settings.heartbeat_seconds),
        )
        with contextlib.suppress(Exception):
            await bus.publish(subjects.SCHEDULER_HEARTBEAT, encoder.encode(beat))
        await _sleep(stop, settings.heartbeat_seconds)


async def run(
    settings: SchedulerSettings, stop: asyncio.Event | None = None, *, clock: Clock | None = None
) -> None:
    """Schedule until `stop` is set (or, when no `stop` is given, SIGTERM/SIGINT arrives)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    clock = clock or offset_clock(settings.clock_offset_seconds)
    bus = await _connect_with_retry(settings, stop)
    if bus is None:
        return
    log.info("scheduler %s connected to %s", settings.scheduler_id, settings.nats_options.display)
    planner = Planner()
    shipper = start_shipping("scheduler", settings.scheduler_id)
    tasks = [
        asyncio.create_task(shipper.run(bus), name="log-shipper"),
        asyncio.create_task(
            watch_schedules(bus, planner, stop, rewatch_seconds=settings.rewatch_seconds),
            name="schedules-watch",
        ),
        asyncio.create_task(_tick(bus, planner, stop, settings, clock), name="tick"),
        asyncio.create_task(_heartbeat(bus, stop, settings), name="heartbeat"),
    ]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        stop_shipping(shipper)
        with contextlib.suppress(Exception):
            await shipper.ship_pending(bus)
        await bus.close()
        log.info("scheduler %s stopped", settings.scheduler_id)


async def _connect_with_retry(settings: SchedulerSettings, stop: asyncio.Event) -> Bus | None:
    """Connect and create the fired stream and schedules bucket, retrying until `stop`."""
    delay = 0.5
    while not stop.is_set():
        bus: Bus | None = None
        try:
            # The API creates the streams; the scheduler only finds them (its NATS user may
            # not administer streams).
            bus = await Bus.connect(
                settings.nats_options,
                name=f"scheduler-{settings.scheduler_id}",
                manages_streams=False,
            )
            await bus.ensure_scheduling()
            return bus
        except Exception as exc:  # UnavailableError or transient socket errors: keep trying
            if bus is not None:
                await bus.close()
            log.warning("NATS not usable (%s); retrying in %.1fs", exc, delay)
            await _sleep(stop, delay)
            delay = min(delay * 2, 10.0)
    return None
