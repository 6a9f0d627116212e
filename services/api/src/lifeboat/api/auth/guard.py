"""The app-wide guard: authenticate every request and enforce its route's access rule.

A route declares ``opt={"permission": "..."}`` or ``opt={"public": True}``; anything else is
refused (default deny). Credentials are an ``Authorization: Bearer <API token>`` header or the
session cookie; cookie-authenticated requests that change state must echo the session's CSRF
token in ``X-CSRF-Token`` (double submit).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from lifeboat.api.auth.permissions import AccessRule
from lifeboat.api.auth.service import (
    CSRF_HEADER,
    SESSION_COOKIE,
    CsrfError,
    Principal,
    SetupRequiredError,
    csrf_matches,
    has_users,
    session_principal,
    token_principal,
)
from lifeboat.api.context import ApiContext
from lifeboat.core.errors import ForbiddenError, UnauthorizedError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Connection = ASGIConnection[Any, Any, Any, Any]


async def authenticate(ctx: ApiContext, connection: Connection) -> Principal | None:
    """The request's principal; None when it carries no (valid) session cookie.

    A bad ``Authorization`` header is an error (401), never silently anonymous.
    """
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise UnauthorizedError("the Authorization header must be 'Bearer <API token>'")
        principal = await token_principal(ctx, value.strip())
        if principal is None:
            raise UnauthorizedError("invalid or expired API token")
        return principal
    session_id = connection.cookies.get(SESSION_COOKIE)
    if session_id:
        idle = timedelta(hours=ctx.settings.auth.session_hours)
        return await session_principal(ctx, session_id, idle)
    return None


async def access_guard(connection: Connection, handler: BaseRouteHandler) -> None:
    """Refuse the request unless its principal holds the route's permission."""
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's automatic OPTIONS answers (Allow header) reveal nothing
    rule = AccessRule.of(handler.opt)
    if rule is None:
        raise ForbiddenError("this endpoint declares no access rule")
    if rule.public:
        return
    ctx: ApiContext = connection.app.state.ctx
    principal = await authenticate(ctx, connection)
    if principal is None:
        if not await has_users(ctx):
            raise SetupRequiredError("Lifeboat is not set up: create the first admin account")
        raise UnauthorizedError("sign in, or send an API token, to use this endpoint")
    method = str(connection.scope.get("method", "GET"))
    if (
        principal.kind == "session"
        and method not in SAFE_METHODS
        and not csrf_matches(principal, connection.headers.get(CSRF_HEADER))
    ):
        raise CsrfError(f"missing or wrong {CSRF_HEADER} header")
    if rule.permission not in principal.permissions:
        raise ForbiddenError(f"the {principal.role} role lacks the {rule.permission} permission")
    connection.state.principal = principal


def principal_of(connection: Connection) -> Principal:
    """The principal the guard attached to a request (401 when there is none)."""
    principal = connection.state.get("principal")
    if not isinstance(principal, Principal):
        raise UnauthorizedError("sign in first")
    return principal
