"""The API's NATS connection: established in the background, so the API runs while NATS is down.

Until the first connection succeeds, :meth:`NatsLink.require` raises UnavailableError (503);
afterwards nats-py reconnects by itself and the callbacks given to :meth:`NatsLink.run` (events
consumer, trigger responder) are started once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from lifeboat.core.errors import UnavailableError
from lifeboat.wire import connection
from lifeboat.wire.bus import LEASE_TTL_S, Bus
from lifeboat.wire.connection import NatsOptions

log = logging.getLogger(__name__)

OnConnected = Callable[[Bus], Awaitable[None]]


def redact_url(url: str) -> str:
    """`url` (a comma-separated server list) without user info (NATS URLs may carry
    credentials)."""
    return ",".join(connection.redact_url(item.strip()) for item in url.split(",") if item.strip())


class NatsLink:
    """Holds the Bus once connected; connects and sets up streams in the background."""

    def __init__(self, options: NatsOptions | str, *, name: str = "lifeboat-api") -> None:
        self.options = NatsOptions.from_url(options) if isinstance(options, str) else options
        self.url = self.options.display
        self._name = name
        self._bus: Bus | None = None
        self._ready = asyncio.Event()

    @property
    def bus(self) -> Bus | None:
        """The bus, once connected and set up."""
        return self._bus

    @property
    def connected(self) -> bool:
        """Whether NATS is reachable right now."""
        return self._bus is not None and self._bus.connected

    def require(self) -> Bus:
        """The bus if connected right now, else UnavailableError (503)."""
        if self._bus is None or not self._bus.connected:
            raise UnavailableError(
                f"NATS is not connected ({redact_url(self.url)}); try again shortly"
            )
        return self._bus

    async def wait_ready(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the first connection."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self._ready.is_set()

    async def run(self, on_connected: list[OnConnected]) -> None:
        """Connect (retrying forever), create streams, then start each `on_connected`."""
        delay = 0.5
        bus: Bus | None = None
        while bus is None:
            try:
                bus = await Bus.connect(self.options, name=self._name, connect_timeout=2.0)
                await bus.ensure_streams()
                await bus.ensure_fencing(ttl_s=LEASE_TTL_S)
            except Exception as exc:  # keep trying: the API serves without NATS meanwhile
                log.warning("NATS at %s not usable yet: %s", redact_url(self.url), exc)
                if bus is not None:
                    await bus.close()
                    bus = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._bus = bus
        self._ready.set()
        log.info("connected to NATS at %s", redact_url(self.url))
        for callback in on_connected:
            await callback(bus)

    async def close(self) -> None:
        """Drain and close the connection."""
        if self._bus is not None:
            await self._bus.close()
            self._bus = None
