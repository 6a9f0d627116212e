"""DTOs of /api/executors."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from lifeboat.api.domain.common import Output


class RunningJobOut(Output):
    """A job an executor is running: its execution id and, when the API knows it, its kind."""

    id: str
    kind: Literal["backup", "restore", "verify"] | None
    database_name: str | None
    status: str | None


class ExecutorOut(Output):
    """One executor, as its last heartbeat described it.

    ``tools`` maps each client tool to its ``--version`` line, or null when the executor does
    not have it. ``live``: heard from within three heartbeat intervals and not stopping.
    """

    id: str
    queue: str
    version: str
    tools: dict[str, str | None]
    running_jobs: list[RunningJobOut]
    concurrency: int
    interval_seconds: float
    stopping: bool
    live: bool
    last_seen: datetime
    started_at: datetime


class QueueWarningOut(Output):
    """A queue that enabled databases use but no live executor serves: their jobs would wait."""

    queue: str
    databases: list[str]
    message: str
