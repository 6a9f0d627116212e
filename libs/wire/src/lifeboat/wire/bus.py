"""The bus: one connection to NATS with the streams Lifeboat uses, as one facade.

Connecting takes a :class:`~lifeboat.wire.connection.NatsOptions`: a list of servers (a cluster;
nats-py fails over between them and learns the others from the one it reached), credentials
and TLS. Streams and KV buckets are created with ``options.replicas`` replicas, and only by the
process that manages them (the API): the executor and the scheduler only look them up, so a
NATS server can refuse them every stream-administration subject (deploy/nats/cluster/).

:class:`Bus` puts together the parts, each in its own module: stream and bucket set-up
(:mod:`~lifeboat.wire.streams`), KV operations and fencing (:mod:`~lifeboat.wire.kv`), jobs,
events and fires (:mod:`~lifeboat.wire.jobs`); this module adds connecting and core NATS
request/reply and publish/subscribe. The names callers use are re-exported here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Self

import nats
import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from lifeboat.core.errors import UnavailableError
from lifeboat.wire.base import STREAM_POLL_S, STREAM_WAIT_S
from lifeboat.wire.connection import NatsOptions
from lifeboat.wire.delivery import Delivery
from lifeboat.wire.jobs import (
    EVENT_ACK_WAIT_S,
    FIRED_ACK_WAIT_S,
    JOB_ACK_WAIT_S,
    JOB_MAC_HEADER,
    JOB_MAX_AGE_S,
    JOB_MAX_DELIVER,
    JOB_PUBLISH_PATIENCE_S,
    LEASE_TTL_S,
    JobQueues,
    job_dedup_id,
)
from lifeboat.wire.kv import KvChange, KvEntry, KvOperations
from lifeboat.wire.streams import (
    EVENTS_MAX_AGE_S,
    FIRED_DUPLICATE_WINDOW_S,
    FIRED_MAX_AGE_S,
    StreamSetup,
)

__all__ = [
    "EVENTS_MAX_AGE_S",
    "EVENT_ACK_WAIT_S",
    "FIRED_ACK_WAIT_S",
    "FIRED_DUPLICATE_WINDOW_S",
    "FIRED_MAX_AGE_S",
    "JOB_ACK_WAIT_S",
    "JOB_MAC_HEADER",
    "JOB_MAX_AGE_S",
    "JOB_MAX_DELIVER",
    "JOB_PUBLISH_PATIENCE_S",
    "LEASE_TTL_S",
    "STREAM_POLL_S",
    "STREAM_WAIT_S",
    "Bus",
    "Delivery",
    "KvChange",
    "KvEntry",
    "job_dedup_id",
]

log = logging.getLogger(__name__)
# The NATS client's own complaints (permission violations, lost connections): never shipped
# over NATS by lifeboat.wire.logship, or a refused publish would log, ship, be refused...
nats_log = logging.getLogger("lifeboat.wire.nats")


class Bus(StreamSetup, KvOperations, JobQueues):
    """A connection to NATS with the streams Lifeboat uses."""

    @classmethod
    async def connect(
        cls,
        options: NatsOptions | str,
        *,
        name: str,
        connect_timeout: float = 5.0,
        manages_streams: bool = True,
    ) -> Self:
        """Connect to the first reachable server of `options` (reconnecting forever afterwards,
        to any server of the cluster) or raise UnavailableError.

        `options` may be a plain ``NATS_URL`` string (comma-separated servers, no credentials).
        With ``manages_streams=False`` the ``ensure_*`` methods only wait for the streams and
        buckets to exist (someone else, the API, creates them).
        """
        if isinstance(options, str):
            options = NatsOptions.from_url(options)

        async def _on_error(exc: Exception) -> None:
            nats_log.warning("nats: %s", exc)

        extra: dict[str, Any] = {}
        if options.user is not None:
            extra["user"] = options.user
            extra["password"] = options.password or ""
        if options.creds_file is not None:
            extra["user_credentials"] = str(options.creds_file)
        if options.nkey_seed_file is not None:
            extra["nkeys_seed"] = str(options.nkey_seed_file)
        if options.inbox_prefix is not None:
            extra["inbox_prefix"] = options.inbox_prefix
        try:
            tls = options.ssl_context()
        except (OSError, ValueError) as exc:
            raise UnavailableError(f"cannot load the NATS TLS files: {exc}") from exc
        try:
            nc = await nats.connect(
                servers=list(options.servers),
                name=name,
                connect_timeout=connect_timeout,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                # A lost node: try the next server of the list soon, not after 2 s each.
                reconnect_time_wait=0.5,
                error_cb=_on_error,
                tls=tls,
                **extra,
            )
        except (OSError, nats.errors.Error) as exc:
            # nats-py's messages name servers, never credentials; the list is shown redacted.
            raise UnavailableError(f"cannot connect to NATS at {options.display}: {exc}") from exc
        return cls(nc, replicas=options.replicas, manages_streams=manages_streams)

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return bool(self._nc.is_connected)

    async def request(self, subject: str, payload: bytes, *, timeout: float) -> bytes:
        """Core NATS request/reply; UnavailableError when nobody answers in time."""
        try:
            reply = await self._nc.request(subject, payload, timeout=timeout)
        except nats.errors.NoRespondersError as exc:
            raise UnavailableError(f"no service is listening on {subject}") from exc
        except (TimeoutError, nats.errors.TimeoutError) as exc:
            raise UnavailableError(f"no answer on {subject} within {timeout:g}s") from exc
        return reply.data

    async def serve(
        self, subject: str, queue_group: str, handler: Callable[[bytes], Awaitable[bytes]]
    ) -> Subscription:
        """Answer requests on `subject`, one responder of `queue_group` per request."""

        async def _on_msg(msg: Msg) -> None:
            try:
                answer = await handler(msg.data)
            except Exception:  # a handler bug must not kill the subscription
                log.exception("handler for %s failed", subject)
                return
            if msg.reply:
                await msg.respond(answer)

        return await self._nc.subscribe(subject, queue=queue_group, cb=_on_msg)

    async def publish(self, subject: str, payload: bytes) -> None:
        """Fire-and-forget core NATS publish (heartbeats)."""
        await self._nc.publish(subject, payload)

    async def close(self) -> None:
        """Drain subscriptions and close."""
        with contextlib.suppress(Exception):
            await self._nc.drain()

    async def subscribe(
        self, subject: str, handler: Callable[[bytes], Awaitable[None]]
    ) -> Subscription:
        """Core NATS subscription (every subscriber gets every message, e.g. heartbeats)."""

        async def _on_msg(msg: Msg) -> None:
            try:
                await handler(msg.data)
            except Exception:  # a handler bug must not kill the subscription
                log.exception("handler for %s failed", subject)

        return await self._nc.subscribe(subject, cb=_on_msg)
