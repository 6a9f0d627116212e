"""The API's observability plumbing: scheduler heartbeats, the system log window, request ids.

Started beside the app's other background work (:func:`observing` is one of its lifespans):
it keeps the API's own log lines in the :class:`~lifeboat.api.domain.syslogs.window.LogWindow`
from start-up, and once NATS is connected follows scheduler heartbeats and shipped log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from lifeboat.api.context import ApiContext
from lifeboat.api.domain.schedulers.registry import SchedulerRegistry, follow_scheduler_heartbeats
from lifeboat.api.domain.syslogs.window import LogWindow, follow_shipped_logs, keep_api_logs
from lifeboat.core.logs import REQUEST_ID

REQUEST_ID_HEADER = "x-request-id"
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def observing(
    ctx: ApiContext, schedulers: SchedulerRegistry, window: LogWindow
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """The lifespan keeping the log window and following heartbeats and shipped lines."""

    async def follow() -> None:
        while not await ctx.nats.wait_ready(3600):
            pass
        bus = ctx.nats.bus
        if bus is None:
            return
        await asyncio.gather(
            follow_scheduler_heartbeats(schedulers, bus), follow_shipped_logs(window, bus)
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncGenerator[None, None]:
        handler = keep_api_logs(window, instance=socket.gethostname())
        task = asyncio.create_task(follow(), name="observe-follow")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            logging.getLogger().removeHandler(handler)

    return lifespan


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give each HTTP request an id (the client's ``X-Request-ID`` when well-formed, else a
    new one): set in :data:`~lifeboat.core.logs.REQUEST_ID` for its log lines and echoed in
    the response's ``X-Request-ID`` header."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = given if given and _GOOD_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers") or [])
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)

    return middleware


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
