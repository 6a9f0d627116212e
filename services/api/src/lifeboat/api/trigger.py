"""The external trigger: any NATS client may request a backup of a named database.

Request on ``lifeboat.trigger.backup`` (:data:`lifeboat.wire.subjects.TRIGGER_BACKUP`)::

    {"database": "<configuration name>", "compression": "zstd" | "gzip"}

Reply (SPEC §6.2 envelope)::

    {"success": true, "data": {"executionId": "...", "status": "pending"}}
    {"success": false, "error": {"code": "NOT_FOUND", "message": "..."}}

The request is validated and handled exactly like ``POST /api/backups``: ``token`` must be a valid
API token whose role holds ``backup.execute`` (else ``UNAUTHORIZED`` / ``FORBIDDEN``). Each
triggered backup is recorded in the audit trail under the token's name.
"""

from __future__ import annotations

import logging

import msgspec

from lifeboat.api.auth.audit import record_audit
from lifeboat.api.auth.service import token_principal
from lifeboat.api.context import ApiContext
from lifeboat.api.domain.backups.service import request_backup
from lifeboat.core.errors import LifeboatError
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import encode, trigger_request_decoder
from lifeboat.wire.messages import TriggerError, TriggerReply

log = logging.getLogger(__name__)


def _error(code: str, message: str, details: object = None) -> bytes:
    return encode(
        TriggerReply(success=False, error=TriggerError(code=code, message=message, details=details))
    )


async def handle_trigger(ctx: ApiContext, payload: bytes) -> bytes:
    """Answer one trigger request (never raises)."""
    try:
        request = trigger_request_decoder.decode(payload)
    except msgspec.DecodeError as exc:
        return _error("VALIDATION_ERROR", f"invalid trigger request: {exc}")
    if not request.database.strip():
        return _error("VALIDATION_ERROR", "database must not be empty")
    try:
        principal = await token_principal(ctx, request.token) if request.token else None
    except Exception:
        log.exception("trigger token check failed")
        return _error("INTERNAL_ERROR", "internal error")
    if principal is None:
        return _error("UNAUTHORIZED", "a valid API token is required in the token field")
    if "backup.execute" not in principal.permissions:
        return _error("FORBIDDEN", f"the {principal.role} role lacks the backup.execute permission")
    try:
        backup = await request_backup(
            ctx,
            database_name=request.database,
            compression=request.compression or "zstd",
        )
    except LifeboatError as exc:
        return _error(exc.code, exc.message, exc.details)
    except Exception:
        log.exception("trigger for %r failed", request.database)
        return _error("INTERNAL_ERROR", "internal error")
    log.info("backup %s of %s triggered over NATS", backup.id, request.database)
    async with ctx.db.write() as session:
        await record_audit(
            session, principal.actor, "backup.trigger", backup.id, {"database": request.database}
        )
    return encode(
        TriggerReply(success=True, data={"executionId": backup.id, "status": backup.status})
    )


async def serve_trigger(ctx: ApiContext, bus: Bus) -> None:
    """Answer trigger requests (one API replica per request, via the queue group)."""

    async def _handler(payload: bytes) -> bytes:
        return await handle_trigger(ctx, payload)

    await bus.serve(subjects.TRIGGER_BACKUP, subjects.API_QUEUE_GROUP, _handler)
