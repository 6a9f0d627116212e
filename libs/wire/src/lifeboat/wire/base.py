"""What every part of :class:`lifeboat.wire.bus.Bus` shares: the NATS connection, its
JetStream context, and waiting for streams someone else creates.

Together with :mod:`~lifeboat.wire.delivery`, :mod:`~lifeboat.wire.streams`,
:mod:`~lifeboat.wire.kv`, :mod:`~lifeboat.wire.jobs` and :mod:`~lifeboat.wire.bus`, the only
modules that import nats.
"""

from __future__ import annotations

import asyncio
import logging
import time

import nats.js.errors
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from lifeboat.core.errors import UnavailableError

log = logging.getLogger(__name__)

# A process that only looks streams up (executor, scheduler) waits this long for the API to
# create them before giving up (its caller retries or the process restarts).
STREAM_WAIT_S = 30.0
STREAM_POLL_S = 0.5


def kv_stream(bucket: str) -> str:
    """The stream behind KV bucket `bucket` (a JetStream convention)."""
    return f"KV_{bucket}"


class BusBase:
    """A connection to NATS and its JetStream context (the state every bus operation uses)."""

    def __init__(self, nc: Client, *, replicas: int = 1, manages_streams: bool = True) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream()
        self._replicas = replicas
        self._manages_streams = manages_streams

    async def _await_streams(self, names: list[str]) -> None:
        """Return once every stream in `names` exists; UnavailableError after STREAM_WAIT_S."""
        deadline = time.monotonic() + STREAM_WAIT_S
        for stream in names:
            logged = False
            while True:
                try:
                    await self._js.stream_info(stream)
                    break
                except nats.js.errors.NotFoundError:
                    if time.monotonic() > deadline:
                        raise UnavailableError(
                            f"NATS stream {stream} does not exist: is the API running?"
                        ) from None
                    if not logged:
                        log.info("waiting for the API to create the NATS stream %s", stream)
                        logged = True
                    await asyncio.sleep(STREAM_POLL_S)
