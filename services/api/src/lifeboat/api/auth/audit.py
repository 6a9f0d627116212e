"""The audit trail: who did what, to what, from where.

Other domains call :func:`record_audit` inside their own write transaction, or :func:`audit`
(which opens one) from a request handler::

    await record_audit(session, request_actor(request), "s3config.update", config_id,
                       {"changed": {...}}, request_ip(request))

Values under keys that look secret (password, secret, token, key...) are masked in `details`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any, cast

from litestar.connection import ASGIConnection
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.auth.schemas import AuditOut
from lifeboat.api.context import ApiContext
from lifeboat.api.db.auth_models import AuditEvent
from lifeboat.api.db.models import utcnow

log = logging.getLogger(__name__)

MASK = "***"
_SECRET_WORDS = ("pass", "secret", "token", "credential", "privatekey", "accesskey", "apikey")


def _is_secret_key(key: str) -> bool:
    flat = key.lower().replace("_", "").replace("-", "")
    return any(word in flat for word in _SECRET_WORDS) or (flat.endswith("key") and flat != "key")


def mask_secrets(value: Any) -> Any:
    """`value` with every value under a secret-looking key replaced by ``***``."""
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for k, v in value.items():  # pyright: ignore[reportUnknownVariableType]
            key = str(k)  # pyright: ignore[reportUnknownArgumentType]
            masked[key] = MASK if _is_secret_key(key) and v not in (None, "") else mask_secrets(v)
        return masked
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


async def record_audit(
    session: AsyncSession,
    actor: str,
    action: str,
    target: str | None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    *,
    outcome: str = "success",
) -> None:
    """Add one audit event to `session`'s transaction (secrets in `details` masked)."""
    session.add(
        AuditEvent(
            actor=actor[:255],
            action=action[:64],
            target=target[:255] if target else None,
            outcome=outcome,
            details=json.dumps(mask_secrets(details), default=str) if details else None,
            ip=ip,
        )
    )


def request_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """``user:<email>``, ``token:<name> (<email>)`` or ``anonymous`` for a request."""
    principal = connection.state.get("principal")
    actor = getattr(principal, "actor", None)
    return actor if isinstance(actor, str) else "anonymous"


def request_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The client address of a request (uvicorn applies trusted X-Forwarded-For)."""
    return connection.client.host if connection.client else None


async def audit(
    ctx: ApiContext,
    connection: ASGIConnection[Any, Any, Any, Any],
    action: str,
    target: str | None,
    details: dict[str, Any] | None = None,
    *,
    outcome: str = "success",
) -> None:
    """Record an event for a request in its own transaction (never fails the request)."""
    try:
        async with ctx.db.write() as session:
            await record_audit(
                session,
                request_actor(connection),
                action,
                target,
                details,
                request_ip(connection),
                outcome=outcome,
            )
    except Exception:
        log.exception("could not record audit event %s", action)


async def purge_audit(ctx: ApiContext, *, days: int, now: datetime | None = None) -> int:
    """Delete audit events older than `days`; return how many went."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    async with ctx.db.write() as session:
        result = await session.execute(delete(AuditEvent).where(AuditEvent.timestamp < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def list_audit(
    ctx: ApiContext,
    *,
    action: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    page: int,
    limit: int,
) -> tuple[list[AuditOut], int]:
    """Audit events newest first: `action` is a prefix (``backup`` or ``backup.delete``),
    `actor` a substring."""
    query = select(AuditEvent)
    if action:
        query = query.where(
            (AuditEvent.action == action)
            | AuditEvent.action.startswith(f"{action}.", autoescape=True)
        )
    if actor:
        query = query.where(AuditEvent.actor.contains(actor, autoescape=True))
    if since is not None:
        query = query.where(AuditEvent.timestamp >= since)
    if until is not None:
        query = query.where(AuditEvent.timestamp <= until)
    async with ctx.db.read() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (
            await session.scalars(
                query.order_by(AuditEvent.timestamp.desc(), AuditEvent.id)
                .offset((page - 1) * limit)
                .limit(limit)
            )
        ).all()
    return [_audit_out(r) for r in rows], int(total or 0)


def _audit_out(row: AuditEvent) -> AuditOut:
    details: dict[str, Any] | None = None
    if row.details:
        try:
            loaded: Any = json.loads(row.details)
            details = (
                cast(dict[str, Any], loaded) if isinstance(loaded, dict) else {"value": loaded}
            )
        except ValueError:
            details = {"raw": row.details}
    return AuditOut(
        id=row.id,
        timestamp=row.timestamp,
        actor=row.actor,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        details=details,
        ip=row.ip,
    )
