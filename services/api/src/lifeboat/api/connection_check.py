"""Connection checks: asking an executor of a queue to connect to a database (a ProbeRequest,
request/reply)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import msgspec

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import new_id
from lifeboat.core.errors import UnavailableError
from lifeboat.core.naming import Engine
from lifeboat.wire import subjects
from lifeboat.wire.codec import encode, probe_reply_decoder
from lifeboat.wire.messages import ProbeReply, ProbeRequest, Target

PROBE_TIMEOUT_S = 15.0


@dataclass(frozen=True, kw_only=True)
class ProbeTarget:
    """Connection facts to probe (the password in clear, only in memory)."""

    engine: Engine
    host: str
    port: int
    database: str
    username: str
    password: str
    queue: str


@dataclass(frozen=True)
class ProbeOutcome:
    """An executor's answer and the round-trip time."""

    reply: ProbeReply
    latency_ms: int


async def probe(
    ctx: ApiContext, target: ProbeTarget, *, timeout: float = PROBE_TIMEOUT_S
) -> ProbeOutcome:
    """Probe `target` through an executor serving its queue.

    Raises UnavailableError (503) when NATS is down or no executor answers in time.
    """
    bus = ctx.nats.require()
    probe_id = new_id()
    request = ProbeRequest(
        probe_id=probe_id,
        target=Target(
            engine=target.engine,
            host=target.host,
            port=target.port,
            database=target.database,
            username=target.username,
            sealed_password=ctx.sealer.seal(target.password, bound_to=probe_id),
        ),
    )
    started = time.monotonic()
    try:
        raw = await bus.request(
            subjects.probe_subject(target.queue), encode(request), timeout=timeout
        )
    except UnavailableError as exc:
        raise UnavailableError(
            f"no executor serving queue {target.queue!r} answered the connection test "
            f"({exc.message}); start an executor for that queue, or save with "
            '"skipConnectionTest": true',
            details={"queue": target.queue},
        ) from exc
    latency_ms = round((time.monotonic() - started) * 1000)
    try:
        reply = probe_reply_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise UnavailableError("the executor sent an unreadable probe reply") from exc
    return ProbeOutcome(reply, latency_ms)
