"""Publishing one execution's events: started, log lines, progress, finished."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from lifeboat.core.logs import scrub
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import (
    BackupFinished,
    ExecutionKind,
    ExecutionLogLine,
    ExecutionProgress,
    ExecutionStarted,
    LogLevel,
    RestoreFinished,
    S3UploadFinished,
    VerifyFinished,
)

log = logging.getLogger(__name__)

_FINISH_ATTEMPTS = 5

_LOG_LEVELS: dict[LogLevel, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


class Reporter:
    """Events of one delivery of one execution (they all carry the delivery attempt)."""

    def __init__(
        self, bus: Bus, *, execution_id: str, kind: ExecutionKind, attempt: int, executor_id: str
    ) -> None:
        self.bus = bus
        self.execution_id = execution_id
        self.kind: ExecutionKind = kind
        self.attempt = attempt
        self.executor_id = executor_id
        self.bytes_total: int | None = None

    async def started(self) -> None:
        """Announce that this executor took the job."""
        await self._publish(
            ExecutionStarted(
                execution_id=self.execution_id,
                kind=self.kind,
                attempt=self.attempt,
                executor_id=self.executor_id,
                at=now(),
            )
        )

    async def log(
        self, level: LogLevel, message: str, metadata: dict[str, Any] | None = None
    ) -> None:
        """One execution log line (scrubbed of every registered secret)."""
        message = scrub(message)
        log.log(_LOG_LEVELS[level], "[%s] %s", self.execution_id, message)
        await self._publish(
            ExecutionLogLine(
                execution_id=self.execution_id,
                kind=self.kind,
                attempt=self.attempt,
                level=level,
                message=message,
                at=now(),
                metadata=metadata,
            )
        )

    async def progress(self, bytes_done: int) -> None:
        """Bytes processed so far (callers throttle)."""
        await self._publish(
            ExecutionProgress(
                execution_id=self.execution_id,
                kind=self.kind,
                attempt=self.attempt,
                bytes_done=bytes_done,
                bytes_total=self.bytes_total,
                at=now(),
            )
        )

    async def _publish(
        self, event: ExecutionStarted | ExecutionLogLine | ExecutionProgress
    ) -> None:
        # Log lines and progress are best effort: losing one must not fail the job.
        try:
            await self.bus.publish_event(self.kind, event)
        except Exception as exc:
            log.warning(
                "cannot publish %s event for %s: %s", type(event).__name__, self.execution_id, exc
            )

    async def finished(
        self, event: BackupFinished | RestoreFinished | S3UploadFinished | VerifyFinished
    ) -> None:
        """Publish the result, retrying; raises if the server never confirmed it."""
        delay = 0.5
        for attempt in range(1, _FINISH_ATTEMPTS + 1):
            try:
                await self.bus.publish_event(self.kind, event)
                return
            except Exception as exc:
                if attempt == _FINISH_ATTEMPTS:
                    raise
                log.warning(
                    "cannot publish the result of %s (%s); retrying", self.execution_id, exc
                )
                await asyncio.sleep(delay)
                delay *= 2
