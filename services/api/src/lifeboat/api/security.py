"""HTTP hardening: security headers on every response, CORS (closed unless configured), and the
outbound-endpoint setting the S3 feature checks."""

from __future__ import annotations

from litestar.config.cors import CORSConfig
from litestar.types import Message, Scope
from sqlalchemy import select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import SystemSetting

# The SPA is built by Vite into external files only (no inline script or style elements; React
# sets styles through the CSSOM, which CSP does not restrict).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The API documentation pages Litestar renders load their UI from a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net "
    "https://unpkg.com; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net "
    "https://unpkg.com https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https:; worker-src 'self' blob:; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

ALLOW_PRIVATE_ENDPOINTS = "allow_private_endpoints"


async def add_security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the security headers on every HTTP response (404s included)."""
    if message["type"] != "http.response.start":
        return
    csp = DOCS_CSP if str(scope.get("path", "")).startswith("/schema") else CSP
    headers = list(message.get("headers", []))
    present = {bytes(name).lower() for name, _ in headers}
    for name, value in {**SECURITY_HEADERS, "content-security-policy": csp}.items():
        if name.encode() not in present:
            headers.append((name.encode(), value.encode()))
    message["headers"] = headers


def cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    """CORS for the configured origins only; None (no CORS headers at all) by default."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
        allow_credentials=True,
        max_age=600,
    )


async def allow_private_endpoints(ctx: ApiContext) -> bool:
    """The ``allow_private_endpoints`` system setting (default false)."""
    async with ctx.db.read() as session:
        row = await session.get(SystemSetting, ALLOW_PRIVATE_ENDPOINTS)
    return row is not None and row.value_type == "boolean" and row.value == "true"


async def ensure_default_settings(ctx: ApiContext) -> None:
    """Create the security settings with their defaults when missing."""
    async with ctx.db.write() as session:
        existing = await session.scalar(
            select(SystemSetting.key).where(SystemSetting.key == ALLOW_PRIVATE_ENDPOINTS)
        )
        if existing is None:
            session.add(
                SystemSetting(
                    key=ALLOW_PRIVATE_ENDPOINTS,
                    value="false",
                    value_type="boolean",
                    description="Let S3 endpoints resolve to private, loopback or link-local "
                    "addresses",
                )
            )
