"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

from litestar import HttpMethod, Litestar, MediaType, Request, Router, route
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.openapi.config import OpenAPIConfig
from litestar.response import File, Response
from litestar.types import ControllerRouterHandler

from lifeboat.api.auth.controller import (
    AuditController,
    AuthController,
    TokenController,
    UserController,
)
from lifeboat.api.auth.guard import access_guard
from lifeboat.api.auth.startup import start_auth
from lifeboat.api.context import ApiContext
from lifeboat.api.db.migrate import upgrade_database
from lifeboat.api.domain.backups.controller import BackupController
from lifeboat.api.domain.configio.controller import ConfigIoController
from lifeboat.api.domain.dashboard.controller import DashboardController
from lifeboat.api.domain.databases.controller import DatabaseController
from lifeboat.api.domain.executors.controller import ExecutorController
from lifeboat.api.domain.executors.registry import ExecutorRegistry, follow_heartbeats
from lifeboat.api.domain.health.controller import HealthController
from lifeboat.api.domain.live_updates.controller import LiveUpdatesController
from lifeboat.api.domain.metrics.controller import metrics
from lifeboat.api.domain.notifications.controller import NotificationChannelController
from lifeboat.api.domain.notifications.monitor import run_monitor
from lifeboat.api.domain.notifications.sender import run_sender
from lifeboat.api.domain.notifications.service import protect_all
from lifeboat.api.domain.restores.controller import RestoreController
from lifeboat.api.domain.retention.cleanup import run_periodic_cleanup
from lifeboat.api.domain.retention.controller import RetentionPolicyController
from lifeboat.api.domain.s3configs.controller import LocalImportController, S3ConfigController
from lifeboat.api.domain.s3configs.service import ensure_env_default
from lifeboat.api.domain.s3configs.sweep import run_periodic_upload_sweep
from lifeboat.api.domain.schedulers.controller import SchedulerController
from lifeboat.api.domain.schedulers.registry import SchedulerRegistry
from lifeboat.api.domain.schedules.controller import ScheduleController
from lifeboat.api.domain.schedules.firing import consume_fired, keep_schedules_published
from lifeboat.api.domain.syslogs.controller import SystemLogController
from lifeboat.api.domain.syslogs.window import LogWindow
from lifeboat.api.domain.system.controller import SystemController
from lifeboat.api.domain.system.service import api_version
from lifeboat.api.domain.verifications.controller import (
    BackupVerificationController,
    VerificationController,
    VerificationTargetController,
)
from lifeboat.api.errors import exception_handlers
from lifeboat.api.executor_events import consume_executor_events
from lifeboat.api.exhausted import fail_exhausted
from lifeboat.api.observe import observing, request_id_middleware
from lifeboat.api.openapi_errors import document_errors
from lifeboat.api.security import add_security_headers, cors_config
from lifeboat.api.settings import Settings
from lifeboat.api.trigger import serve_trigger
from lifeboat.core.errors import ValidationError
from lifeboat.core.paths import contained
from lifeboat.wire.bus import Bus

log = logging.getLogger(__name__)

PACKAGE_STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 1024 * 1024


# The OS mime table may lack web types (a slim image has none); modules need the right one.
_WEB_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".html": "text/html; charset=utf-8",
    ".map": "application/json",
}


def _media_type(path: Path) -> str:
    return _WEB_TYPES.get(path.suffix.lower(), "application/octet-stream")


def _cache_headers(relative: str) -> dict[str, str]:
    # Vite puts a content hash in every file under assets/: they never change.
    if relative.startswith("assets/"):
        return {"Cache-Control": "public, max-age=31536000, immutable"}
    return {"Cache-Control": "no-cache"}


def _spa_handlers(static_dir: Path) -> list[ControllerRouterHandler]:
    """Serve the built SPA: real files as they are, any other non-API path as index.html."""
    index = static_dir / "index.html"

    @route(
        ["/", "/{path:path}"],
        http_method=[
            HttpMethod.GET,
            HttpMethod.HEAD,
            HttpMethod.POST,
            HttpMethod.PUT,
            HttpMethod.PATCH,
            HttpMethod.DELETE,
        ],
        include_in_schema=False,
        sync_to_thread=False,
        status_code=200,
        opt={"public": True},
    )
    def spa(request: Request[Any, Any, Any]) -> File | Response[bytes]:
        relative = request.path_params.get("path", "").lstrip("/")
        api_path = relative.startswith("api/") or relative in ("api", "schema", "metrics")
        if api_path or request.method not in ("GET", "HEAD"):
            raise NotFoundException(f"no resource at {request.url.path}")
        if relative:
            try:
                candidate = contained(static_dir, relative)
            except ValidationError:
                raise NotFoundException(f"no resource at {request.url.path}") from None
            if candidate.is_file():
                return File(
                    candidate,
                    media_type=_media_type(candidate),
                    content_disposition_type="inline",
                    headers=_cache_headers(relative),
                )
        return Response(index.read_bytes(), media_type=MediaType.HTML)

    return [spa]


_CONTROLLERS: tuple[ControllerRouterHandler, ...] = (
    DatabaseController,
    BackupController,
    RestoreController,
    ScheduleController,
    RetentionPolicyController,
    S3ConfigController,
    LocalImportController,
    SystemController,
    DashboardController,
    ConfigIoController,
    HealthController,
    ExecutorController,
    LiveUpdatesController,
    AuthController,
    UserController,
    TokenController,
    AuditController,
    BackupVerificationController,
    VerificationController,
    VerificationTargetController,
    SchedulerController,
    SystemLogController,
    metrics,
    NotificationChannelController,
)


def create_app(settings: Settings) -> Litestar:
    """Build the API application for `settings`.

    Start-up applies migrations, creates the storage directory and connects to NATS in the
    background (the API serves, and readiness reports 503, until NATS is reachable); once
    connected, the executor events consumer and the external trigger responder start.
    """
    ctx = ApiContext.build(settings)
    executors = ExecutorRegistry()
    schedulers = SchedulerRegistry()
    log_window = LogWindow()
    handlers: list[ControllerRouterHandler] = list(_CONTROLLERS)
    static_dir = settings.static_dir or PACKAGE_STATIC
    if (static_dir / "index.html").is_file():
        handlers.extend(_spa_handlers(static_dir))

    app = Litestar(
        route_handlers=handlers,
        dependencies={
            "ctx": Provide(lambda: ctx, sync_to_thread=False),
            "executors": Provide(lambda: executors, sync_to_thread=False),
            "schedulers": Provide(lambda: schedulers, sync_to_thread=False),
            "log_window": Provide(lambda: log_window, sync_to_thread=False),
        },
        exception_handlers=exception_handlers(),
        lifespan=[_lifespan(ctx, executors), observing(ctx, schedulers, log_window)],
        middleware=[request_id_middleware],
        openapi_config=OpenAPIConfig(
            title="Lifeboat API",
            version=api_version(),
            description="Backup and restore for PostgreSQL and MySQL/MariaDB.",
            openapi_router=Router(path="/schema", route_handlers=[], opt={"public": True}),
        ),
        guards=[access_guard],
        before_send=[add_security_headers],
        cors_config=cors_config(settings.auth.cors_origins),
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
        logging_config=None,  # keep the process logging (and its secret redaction) as set up
    )
    app.state.ctx = ctx
    document_errors(app)
    return app


def _lifespan(
    ctx: ApiContext, executors: ExecutorRegistry
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """Start-up and shut-down of the API's background work (see :func:`create_app`)."""
    settings = ctx.settings
    tasks: set[asyncio.Task[None]] = set()

    async def on_connected(bus: Bus) -> None:
        task = asyncio.create_task(consume_executor_events(ctx, bus), name="events-consumer")
        tasks.add(task)
        tasks.add(asyncio.create_task(consume_fired(ctx, bus), name="fired-consumer"))
        tasks.add(asyncio.create_task(follow_heartbeats(executors, bus), name="executor-registry"))
        tasks.add(
            asyncio.create_task(keep_schedules_published(ctx, bus), name="schedules-publisher")
        )
        await bus.follow_exhausted_jobs(lambda raw: fail_exhausted(ctx, bus, raw))
        await serve_trigger(ctx, bus)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncGenerator[None, None]:
        result = await asyncio.to_thread(upgrade_database, settings.database_path)
        if result.upgraded:
            log.info("database migrated from %s to %s", result.previous, result.head)
        settings.backup_storage_path.mkdir(parents=True, exist_ok=True)
        await start_auth(ctx, tasks)
        await ensure_env_default(ctx)
        link = asyncio.create_task(ctx.nats.run([on_connected]), name="nats-link")
        tasks.add(link)
        tasks.add(asyncio.create_task(run_periodic_cleanup(ctx), name="retention-cleanup"))
        tasks.add(asyncio.create_task(run_periodic_upload_sweep(ctx), name="s3-upload-sweep"))
        await protect_all(ctx)
        tasks.add(asyncio.create_task(run_sender(ctx), name="notification-sender"))
        tasks.add(asyncio.create_task(run_monitor(ctx, executors), name="notification-monitor"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            await ctx.nats.close()
            await ctx.db.dispose()

    return lifespan
