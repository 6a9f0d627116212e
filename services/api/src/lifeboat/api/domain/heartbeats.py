"""What the executor and scheduler registries share: the latest heartbeat of each process,
kept in memory from core NATS (not stored), and a task that follows one heartbeat subject.

Liveness is decided by the receive time (the API's clock), not by the beat's own ``at``: a
sender's clock may be off. Nothing is persisted; after an API restart a registry refills
within one heartbeat interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

import msgspec

from lifeboat.wire.bus import Bus

log = logging.getLogger(__name__)

B = TypeVar("B", bound=msgspec.Struct)


def utcnow() -> datetime:
    """The current UTC time (the registries' default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Heard(Generic[B]):
    """The last beat of one process and when the API received it."""

    beat: B
    last_seen: datetime

    def age_seconds(self, now: datetime) -> float:
        """Seconds since the API last heard from this process."""
        return max(0.0, (now - self.last_seen).total_seconds())


class HeartbeatRegistry(Generic[B]):
    """The latest beat per process id; safe to read from request handlers while beats
    arrive. Processes not heard from for `forget_after` drop out."""

    def __init__(
        self,
        decoder: msgspec.json.Decoder[B],
        *,
        key: Callable[[B], str],
        what: str,
        forget_after: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._decoder = decoder
        self._key = key
        self._what = what
        self._forget_after = forget_after
        self._clock = clock
        self._heard: dict[str, Heard[B]] = {}
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The registry's current time."""
        return self._clock()

    def record(self, beat: B) -> None:
        """Remember `beat` as the latest word of its process."""
        with self._lock:
            self._heard[self._key(beat)] = Heard(beat=beat, last_seen=self._clock())

    def record_raw(self, data: bytes) -> None:
        """Decode and record one heartbeat message; an unreadable one is logged and ignored."""
        try:
            beat = self._decoder.decode(data)
        except msgspec.DecodeError as exc:
            log.warning("unreadable %s heartbeat ignored: %s", self._what, exc)
            return
        self.record(beat)

    def heard(self) -> list[Heard[B]]:
        """Every process heard from within `forget_after` (in no particular order)."""
        now = self._clock()
        with self._lock:
            for key, heard in list(self._heard.items()):
                if now - heard.last_seen > self._forget_after:
                    del self._heard[key]
            return list(self._heard.values())


async def follow(registry: HeartbeatRegistry[B], bus: Bus, subject: str) -> None:
    """Record every heartbeat on `subject` until cancelled (run as a task of the app)."""

    async def on_beat(data: bytes) -> None:
        registry.record_raw(data)

    sub = await bus.subscribe(subject, on_beat)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
