"""Who may scrape ``/metrics`` (METRICS_TOKEN, METRICS_ALLOW, or an API token).

Protected by default: with neither setting, a scraper needs an API token (or a session) whose
role holds ``system.view`` (any role: viewer and up). ``METRICS_TOKEN`` adds a bearer token
meant for Prometheus alone; ``METRICS_ALLOW`` lets addresses in the listed networks scrape
without credentials (e.g. ``10.0.0.0/8,127.0.0.1/32``).
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection

from lifeboat.api.auth.guard import authenticate
from lifeboat.api.context import ApiContext
from lifeboat.core.errors import ForbiddenError, UnauthorizedError

METRICS_PERMISSION = "system.view"


async def check_scraper(ctx: ApiContext, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Return when the caller may read the metrics; 401/403 (SPEC §6.2 envelope) otherwise."""
    settings = ctx.settings.metrics
    header = connection.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if (
        settings.token is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(value.strip().encode(), settings.token.encode())
    ):
        return
    client = connection.client
    if not header and settings.allows_address(client.host if client else None):
        return
    principal = await authenticate(ctx, connection)
    if principal is None:
        raise UnauthorizedError(
            "send 'Authorization: Bearer <METRICS_TOKEN or API token>' to read the metrics"
        )
    if METRICS_PERMISSION not in principal.permissions:
        raise ForbiddenError(f"the {principal.role} role lacks the {METRICS_PERMISSION} permission")
