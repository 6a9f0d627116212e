"""HTTP handler of /api/logs: recent system log lines of the API, scheduler and executors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import QueryParameter

from lifeboat.api.domain.common import Output
from lifeboat.api.domain.syslogs.window import LogQuery, LogWindowDep, WindowLine
from lifeboat.api.envelope import Envelope, ok

ServiceName = Literal["api", "scheduler", "executor"]
SystemLogLevel = Literal["debug", "info", "warning", "error", "critical"]
MAX_LOG_LIMIT = 1000


class SystemLogOut(Output):
    """One system log line; ``seq`` orders lines (poll with ``after`` = the largest seen)."""

    seq: int
    time: datetime
    level: SystemLogLevel
    service: str
    instance: str
    logger: str
    message: str
    execution_id: str | None
    request_id: str | None
    traceback: str | None


def _out(item: WindowLine) -> SystemLogOut:
    line = item.line
    level: SystemLogLevel = line.level if line.level in _LEVELS else "info"  # type: ignore[assignment]
    return SystemLogOut(
        seq=item.seq,
        time=line.time,
        level=level,
        service=line.service,
        instance=line.instance,
        logger=line.logger,
        message=line.message,
        execution_id=line.execution_id,
        request_id=line.request_id,
        traceback=line.traceback,
    )


_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})


class SystemLogController(Controller):
    """The bounded in-memory window of recent system log lines (secrets already masked)."""

    path = "/api/logs"
    tags = ["system"]

    @get("/", summary="Recent system log lines", opt={"permission": "system.view"})
    async def list_logs(
        self,
        log_window: LogWindowDep,
        service: Annotated[ServiceName | None, QueryParameter(name="service")] = None,
        level: Annotated[SystemLogLevel | None, QueryParameter(name="level")] = None,
        q: Annotated[str | None, QueryParameter(name="q", max_length=200)] = None,
        after: Annotated[int, QueryParameter(name="after", ge=0)] = 0,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LOG_LIMIT)] = 200,
    ) -> Envelope[list[SystemLogOut]]:
        """Newest first: lines of `service` at `level` or worse containing `q` (case-insensitive,
        in the message, logger, instance, execution id or traceback), newer than `after`.

        The API keeps its own INFO+ lines and the WARNING+ lines the scheduler and executors
        ship; the window holds the last 5,000 and starts empty after a restart.
        """
        query = LogQuery(service=service, level=level, text=q or None, after=after, limit=limit)
        return ok([_out(item) for item in log_window.query(query)])
