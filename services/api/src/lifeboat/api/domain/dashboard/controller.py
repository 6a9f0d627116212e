"""HTTP handlers of /api/dashboard (SPEC §7.2.1)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from lifeboat.api.context import Ctx
from lifeboat.api.domain.dashboard import service
from lifeboat.api.domain.dashboard.schemas import BackupHistoryOut
from lifeboat.api.envelope import Envelope, ok


class DashboardController(Controller):
    """Aggregates for the dashboard."""

    path = "/api/dashboard"
    tags = ["dashboard"]

    @get(
        "/backup-history",
        summary="Backup sizes and durations over time",
        opt={"permission": "backup.view"},
    )
    async def backup_history(
        self,
        ctx: Ctx,
        days: Annotated[int, QueryParameter(name="days", ge=1, le=366)] = 30,
        database_id: Annotated[str | None, QueryParameter(name="databaseId")] = None,
    ) -> Envelope[BackupHistoryOut]:
        """Completed backups of the last `days` days, oldest first, for the size and duration
        charts (at most 5,000: the newest; `truncated` says when more were left out)."""
        return ok(await service.backup_history(ctx, days=days, database_id=database_id))
