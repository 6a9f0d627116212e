"""Authorization matrix generated from the OpenAPI schema.

Every operation of /schema/openapi.json x every kind of caller (anonymous, a signed-in viewer,
operator and admin with cookie + CSRF, an API token of each role) → the expected status: 401 for
anonymous callers, 403 when the role lacks the permission the route declares in its ``opt``,
anything but 401/403 otherwise. An operation whose route declares no rule fails the test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from lifeboat.api.auth.permissions import PERMISSIONS, AccessRule, allows
from tests.support.api import RunningApi, api_settings, data_of, make_token, serve_api

pytestmark = [pytest.mark.integration]

DUMMY_ID = "00000000-0000-4000-8000-000000000000"
PASSWORD = "matrix-Pa55word-0123"
METHODS = ("get", "put", "post", "delete", "patch")


@dataclass
class Caller:
    """One kind of caller in the matrix."""

    name: str
    role: str | None  # None: anonymous
    headers: dict[str, str] = field(default_factory=dict[str, str])
    email: str | None = None  # set for cookie sessions (re-signed-in when a call ended them)
    client: httpx.AsyncClient | None = None


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(api_settings(tmp_path_factory.mktemp("api-matrix"), nats_url)) as running:
        yield running


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> str:
    """Sign in on `client` (cookies kept); return the CSRF token."""
    me = data_of(await client.post("/api/auth/login", json={"email": email, "password": password}))
    return str(me["csrfToken"])


def access_rules(api: RunningApi) -> dict[tuple[str, str], AccessRule | None]:
    """(OpenAPI path, method) → the access rule its route handler declares."""
    rules: dict[tuple[str, str], AccessRule | None] = {}
    for route in api.app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                rules[(route.path_format, str(method).lower())] = AccessRule.of(handler.opt)
    return rules


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", DUMMY_ID, path)


async def status_of(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("post", "put", "patch"):
        kwargs["json"] = {}
    # Streamed: the SSE endpoint never ends, only its status matters.
    async with client.stream(method.upper(), concrete(path), **kwargs) as response:
        return response.status_code


async def test_authorization_matrix(api: RunningApi) -> None:
    admin = api.client
    for role in ("viewer", "operator"):
        data_of(
            await admin.post(
                "/api/users",
                json={"email": f"{role}@matrix.test", "password": PASSWORD, "role": role},
            ),
            201,
        )
    callers = [Caller("anonymous", None)]
    for role in ("viewer", "operator", "admin"):
        token = await make_token(api.ctx, role)  # type: ignore[arg-type]
        callers.append(Caller(f"{role} token", role, {"Authorization": f"Bearer {token}"}))
    browsers: list[httpx.AsyncClient] = []
    try:
        for role, email, password in (
            ("viewer", "viewer@matrix.test", PASSWORD),
            ("operator", "operator@matrix.test", PASSWORD),
            ("admin", api.settings.auth.admin_email or "", api.settings.auth.admin_password or ""),
        ):
            browser = httpx.AsyncClient(base_url=api.url, timeout=30)
            browsers.append(browser)
            csrf = await sign_in(browser, email, password)
            caller = Caller(f"{role} session", role, {"X-CSRF-Token": csrf}, email, browser)
            caller.headers["X-Password"] = password  # kept for re-sign-in; ignored by the API
            callers.append(caller)

        schema = (await api.client.get("/schema/openapi.json")).json()
        rules = access_rules(api)
        operations = [
            (path, method)
            for path, item in schema["paths"].items()
            for method in METHODS
            if method in item
        ]
        assert len(operations) > 30
        problems: list[str] = []
        checked = 0
        for path, method in operations:
            assert (path, method) in rules, f"{method.upper()} {path}: no route found"
            rule = rules[(path, method)]
            assert rule is not None, f"{method.upper()} {path} declares no access rule in opt"
            if not rule.public:
                assert rule.permission in PERMISSIONS
            for caller in callers:
                # sign-out endpoints end sessions: sign in again when that happened
                if (
                    caller.client is not None
                    and caller.email
                    and (await caller.client.get("/api/auth/me")).status_code == 401
                ):
                    caller.headers["X-CSRF-Token"] = await sign_in(
                        caller.client, caller.email, caller.headers["X-Password"]
                    )
                client = caller.client or httpx.AsyncClient(base_url=api.url, timeout=30)
                try:
                    headers = {k: v for k, v in caller.headers.items() if k != "X-Password"}
                    status = await status_of(client, method, path, headers)
                finally:
                    if caller.client is None:
                        await client.aclose()
                checked += 1
                if rule.public:
                    expected = "not 401/403"
                    good = status not in (401, 403)
                elif caller.role is None:
                    expected = "401"
                    good = status == 401
                elif not allows(caller.role, rule.permission or ""):
                    expected = "403"
                    good = status == 403
                else:
                    expected = "not 401/403"
                    good = status not in (401, 403)
                if not good:
                    problems.append(
                        f"{method.upper()} {path} as {caller.name}: {status}, expected {expected}"
                    )
        assert problems == [], "\n".join(problems)
        assert checked == len(operations) * len(callers)
    finally:
        for browser in browsers:
            await browser.aclose()
