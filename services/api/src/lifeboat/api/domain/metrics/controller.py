"""``GET /metrics``: the Prometheus text exposition (see README "Monitoring")."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Response

from lifeboat.api.context import Ctx
from lifeboat.api.domain.executors.registry import Executors
from lifeboat.api.domain.metrics.access import check_scraper
from lifeboat.api.domain.metrics.collector import CONTENT_TYPE, exposition
from lifeboat.api.domain.metrics.snapshot import take_snapshot
from lifeboat.api.domain.schedulers.registry import Schedulers


@get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["system"],
    include_in_schema=False,
    # The guard lets it through; check_scraper decides (METRICS_TOKEN, METRICS_ALLOW, or an
    # API token or session with system.view).
    opt={"public": True},
)
async def metrics(
    ctx: Ctx, executors: Executors, schedulers: Schedulers, request: Request[Any, Any, Any]
) -> Response[bytes]:
    """Per-database backup freshness, size and duration; backups, restores and S3 copies by
    status; queue depth, live executors and schedulers; next runs; process metrics."""
    await check_scraper(ctx, request)
    snap = await take_snapshot(ctx, executors, schedulers)
    return Response(
        exposition(snap), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
