"""Running the API in-process on a free port (real uvicorn, real HTTP) for integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from lifeboat.api.app import create_app
from lifeboat.api.auth.permissions import RoleName
from lifeboat.api.context import ApiContext
from lifeboat.api.settings import Settings
from tests.support.natsd import free_port

TEST_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef0123456789"
TEST_SEAL_KEY = "test-executor-seal-key-0123456789abcdef012345"
ADMIN_EMAIL = "admin@lifeboat.test"
ADMIN_PASSWORD = "admin-Pa55word-for-tests"


def api_settings(data_dir: Path, nats_url: str, **extra: str) -> Settings:
    """Settings for a test API with everything under `data_dir`."""
    env: dict[str, str] = {
        "DATA_DIR": str(data_dir),
        "NATS_URL": nats_url,
        "ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "EXECUTOR_SEAL_KEY": TEST_SEAL_KEY,
        "MIN_FREE_DISK_BYTES": "1",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    env.update(extra)
    return Settings.from_env(env)


@dataclass
class RunningApi:
    """An API served on 127.0.0.1 and an HTTP client pointed at it."""

    app: Litestar
    ctx: ApiContext
    settings: Settings
    url: str
    client: httpx.AsyncClient
    token: str | None = None


async def make_token(ctx: ApiContext, role: RoleName = "admin", *, email: str | None = None) -> str:
    """An API token of `role` owned by the user `email` (default: the bootstrap admin)."""
    from sqlalchemy import select

    from lifeboat.api.auth.schemas import TokenCreate
    from lifeboat.api.auth.service import Principal, create_token
    from lifeboat.api.db.auth_models import User

    async with ctx.db.read() as session:
        user = await session.scalar(select(User).where(User.email == (email or ADMIN_EMAIL)))
    assert user is not None, "no such user (is ADMIN_EMAIL set?)"
    owner = Principal(kind="session", user_id=user.id, email=user.email, role=user.role)  # type: ignore[arg-type]
    created = await create_token(ctx, owner, TokenCreate(name=f"test-{role}", role=role))
    return created.token


@asynccontextmanager
async def serve_api(
    settings: Settings, *, wait_for_nats: bool = True, authenticated: bool = True
) -> AsyncGenerator[RunningApi, None]:
    """Serve the API for `settings` until the context exits.

    With `authenticated` (and ADMIN_EMAIL in the settings, as :func:`api_settings` sets), the
    client sends an admin API token.
    """
    app = create_app(settings)
    ctx: ApiContext = app.state.ctx
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn exited during start-up")
        if time.monotonic() > deadline:
            raise RuntimeError("API did not start")
        await asyncio.sleep(0.02)
    if wait_for_nats and not await ctx.nats.wait_ready(15):
        raise RuntimeError("API did not connect to NATS")
    url = f"http://127.0.0.1:{port}"
    try:
        token: str | None = None
        headers: dict[str, str] = {}
        if authenticated and settings.auth.admin_email:
            token = await make_token(ctx)
            headers["Authorization"] = f"Bearer {token}"
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
            yield RunningApi(
                app=app, ctx=ctx, settings=settings, url=url, client=client, token=token
            )
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Poll `check` until it returns a truthy value; return it (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def database_body(name: str, queue: str, **overrides: Any) -> dict[str, Any]:
    """A valid POST /api/databases body that skips the connection test."""
    body: dict[str, Any] = {
        "name": name,
        "type": "postgresql",
        "host": "db.internal",
        "port": 5432,
        "databaseName": "app",
        "username": "app",
        "password": "s3cr3t-Pa55word!",
        "queue": queue,
        "skipConnectionTest": True,
    }
    body.update(overrides)
    return body


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """Check the status and the success envelope; return ``data``."""
    assert response.status_code == status, response.text
    body: Mapping[str, Any] = response.json()
    assert body["success"] is True, body
    assert "timestamp" in body["meta"]
    return body["data"]


def error_of(response: httpx.Response, status: int, code: str) -> Mapping[str, Any]:
    """Check the status and the error envelope; return ``error``."""
    assert response.status_code == status, response.text
    body: Mapping[str, Any] = response.json()
    assert body["success"] is False, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "timestamp" in body["meta"]
    return body["error"]
