"""Answering connection checks: connect to the database a ProbeRequest names and reply (core
request/reply on ``subjects.probe_subject(queue)``)."""

from __future__ import annotations

import logging

import msgspec

from lifeboat.core.errors import LifeboatError
from lifeboat.core.logs import scrub
from lifeboat.engines.server_info import probe
from lifeboat.executor.context import Context
from lifeboat.wire.codec import encode, probe_request_decoder
from lifeboat.wire.messages import ProbeReply

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 20.0


async def handle_probe(ctx: Context, data: bytes) -> bytes:
    """Decode a ProbeRequest, connect to its target, and encode the ProbeReply."""
    executor_id = ctx.settings.executor_id
    try:
        request = probe_request_decoder.decode(data)
    except msgspec.DecodeError as exc:
        return encode(
            ProbeReply(ok=False, error=f"malformed probe request: {exc}", executor_id=executor_id)
        )
    try:
        with ctx.connection(request.target, bound_to=request.probe_id) as conn:
            try:
                found = await probe(
                    conn,
                    toolbox=ctx.toolbox,
                    base_env=ctx.base_env,
                    tmp_dir=ctx.settings.tmp_dir,
                    timeout=PROBE_TIMEOUT_S,
                )
            except LifeboatError as exc:
                return encode(
                    ProbeReply(ok=False, error=scrub(exc.message), executor_id=executor_id)
                )
    except LifeboatError as exc:  # the sealed password did not open
        return encode(ProbeReply(ok=False, error=exc.message, executor_id=executor_id))
    return encode(
        ProbeReply(
            ok=True,
            server_version=found.server_version,
            database_size_bytes=found.database_size_bytes,
            executor_id=executor_id,
        )
    )
