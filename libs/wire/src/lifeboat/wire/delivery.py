"""One message pulled from a JetStream stream, with its acknowledgements."""

from __future__ import annotations

from nats.aio.msg import Msg


class Delivery:
    """One message pulled from a stream, with the acknowledgements JetStream offers."""

    def __init__(self, msg: Msg) -> None:
        self._msg = msg

    @property
    def data(self) -> bytes:
        """The raw payload."""
        return self._msg.data

    @property
    def headers(self) -> dict[str, str]:
        """The message headers (empty when none)."""
        return dict(self._msg.headers or {})

    @property
    def stream_sequence(self) -> int:
        """The message's sequence in its stream (the same for every delivery of it)."""
        return int(self._msg.metadata.sequence.stream)

    @property
    def attempt(self) -> int:
        """How many times this message has been delivered, this delivery included."""
        return int(self._msg.metadata.num_delivered)

    async def ack(self) -> None:
        """Done: the server forgets the message (waits for the server's confirmation)."""
        await self._msg.ack_sync()

    async def nak(self, delay: float | None = None) -> None:
        """Retryable failure: redeliver after `delay` seconds."""
        await self._msg.nak(delay=delay)

    async def term(self) -> None:
        """Permanent failure: never redeliver."""
        await self._msg.term()

    async def in_progress(self) -> None:
        """Heartbeat: reset the ack timer of a long job."""
        await self._msg.in_progress()
