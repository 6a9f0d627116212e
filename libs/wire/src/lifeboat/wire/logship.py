"""Shipping a service's WARNING-or-worse log lines to the API over core NATS.

:class:`LogShipper` is a :class:`logging.Handler`; ``emit`` never blocks and never does I/O: it
encodes the (already scrubbed) record into a bounded buffer and wakes the shipping task, which
publishes on ``subjects.log_subject(service)``. Lines are dropped, and counted, when the buffer
is full or NATS is down: logs must never stall or crash the service. Records logged while the
shipper itself publishes (and the NATS client's own) are never shipped, so shipping cannot
recurse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol

from lifeboat.core.logs import attach, record_fields
from lifeboat.wire import subjects
from lifeboat.wire.codec import encode
from lifeboat.wire.messages import ShippedLogLine

DEFAULT_CAPACITY = 1000
"""Lines kept while waiting for the shipping task (or NATS); newer ones are dropped."""

_SHIPPING: ContextVar[bool] = ContextVar("lifeboat_log_shipping", default=False)
_NEVER_SHIPPED = ("nats", "lifeboat.wire.nats", "lifeboat.wire.logship")


class Publisher(Protocol):
    """What the shipper needs of a bus."""

    @property
    def connected(self) -> bool:
        """Whether NATS is reachable right now."""
        ...

    async def publish(self, subject: str, payload: bytes) -> None:
        """Fire-and-forget core NATS publish."""
        ...


class LogShipper(logging.Handler):
    """Buffer WARNING+ records and publish them from :meth:`run` (see the module doc)."""

    def __init__(
        self,
        service: str,
        instance: str,
        *,
        level: int = logging.WARNING,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        super().__init__(level)
        self.service = service
        self.instance = instance
        self.subject = subjects.log_subject(service)
        self.capacity = capacity
        self.dropped = 0
        self.shipped = 0
        self._buffer: deque[bytes] = deque()
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Buffer one record (never blocks, never raises, never logs)."""
        if _SHIPPING.get() or record.name.startswith(_NEVER_SHIPPED):
            return
        try:
            fields = record_fields(record)
            line = ShippedLogLine(
                time=datetime.fromtimestamp(record.created, UTC),
                level=fields["level"],
                service=self.service,
                instance=self.instance,
                logger=fields["logger"],
                message=fields["message"],
                execution_id=fields.get("execution_id"),
                request_id=fields.get("request_id"),
                traceback=fields.get("traceback"),
            )
            data = encode(line)
        except Exception:  # a record that cannot be rendered is dropped, not raised
            self.dropped += 1
            return
        with self._guard:
            if len(self._buffer) >= self.capacity:
                self.dropped += 1
                return
            self._buffer.append(data)
        self._signal()

    def _signal(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
            loop.call_soon_threadsafe(wake.set)

    def _take(self) -> list[bytes]:
        with self._guard:
            batch = list(self._buffer)
            self._buffer.clear()
        return batch

    async def run(self, bus: Publisher) -> None:
        """Publish buffered lines until cancelled; drop them while `bus` is not connected."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self._ship(bus, self._take())
        finally:
            self._loop = self._wake = None

    async def ship_pending(self, bus: Publisher) -> None:
        """Publish what is buffered now (for a last flush at shutdown, and tests)."""
        await self._ship(bus, self._take())

    async def _ship(self, bus: Publisher, batch: list[bytes]) -> None:
        token = _SHIPPING.set(True)
        try:
            for index, data in enumerate(batch):
                if not bus.connected:
                    self.dropped += len(batch) - index
                    return
                try:
                    await bus.publish(self.subject, data)
                    self.shipped += 1
                except Exception:  # NATS went away mid-batch: drop, never log (no recursion)
                    self.dropped += 1
        finally:
            _SHIPPING.reset(token)


def start_shipping(service: str, instance: str) -> LogShipper:
    """Attach a :class:`LogShipper` to the root logger (behind the redaction filter) and
    return it; the caller runs :meth:`LogShipper.run` as a task once connected."""
    shipper = LogShipper(service, instance)
    attach(shipper)
    return shipper


def stop_shipping(shipper: LogShipper) -> None:
    """Detach `shipper` from the root logger."""
    logging.getLogger().removeHandler(shipper)
