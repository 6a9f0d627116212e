"""The bounded, searchable window of recent system log lines kept in the API's memory.

It holds the API's own lines (INFO and up, access lines excepted: a handler on the root logger,
behind the redaction filter) and the WARNING-or-worse lines the scheduler and executors ship
over NATS (:mod:`lifeboat.wire.logship`). Nothing is stored: a restart starts empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from litestar.di import NamedDependency

from lifeboat.core.logs import attach, level_name, record_fields
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.messages import ShippedLogLine

log = logging.getLogger(__name__)

WINDOW_LINES = 5000
"""How many lines the window keeps; the oldest go first."""
LEVELS = ("debug", "info", "warning", "error", "critical")
_NOT_KEPT = ("uvicorn.access",)  # one per request: they would push everything else out

_decoder = msgspec.json.Decoder(ShippedLogLine)


@dataclass(frozen=True, slots=True)
class WindowLine:
    """One kept line; ``seq`` grows by one per line (a client polls with ``after``)."""

    seq: int
    line: ShippedLogLine


@dataclass(frozen=True, slots=True)
class LogQuery:
    """What ``GET /api/logs`` asks for; None: any."""

    service: str | None = None
    level: str | None = None
    text: str | None = None
    after: int = 0
    limit: int = 200


class LogWindow:
    """The last :data:`WINDOW_LINES` lines; safe to add to from any thread."""

    def __init__(self, capacity: int = WINDOW_LINES) -> None:
        self._lines: deque[WindowLine] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, line: ShippedLogLine) -> None:
        """Keep `line` (dropping the oldest when full)."""
        with self._lock:
            self._seq += 1
            self._lines.append(WindowLine(seq=self._seq, line=line))

    def add_raw(self, data: bytes) -> None:
        """Decode and keep one shipped line; an unreadable one is counted as lost, not logged
        (a log line about a log line could loop)."""
        try:
            self.add(_decoder.decode(data))
        except msgspec.DecodeError:
            return

    def query(self, query: LogQuery) -> list[WindowLine]:
        """Matching lines newest first, at most ``query.limit``."""
        minimum = LEVELS.index(query.level) if query.level in LEVELS else 0
        needle = query.text.casefold() if query.text else None
        with self._lock:
            lines = list(self._lines)
        found: list[WindowLine] = []
        for item in _newest_first(lines):
            if item.seq <= query.after:
                break
            line = item.line
            if query.service and line.service != query.service:
                continue
            rank = LEVELS.index(line.level) if line.level in LEVELS else 0
            if rank < minimum:
                continue
            if needle and needle not in _haystack(line):
                continue
            found.append(item)
            if len(found) >= query.limit:
                break
        return found


LogWindowDep = NamedDependency[LogWindow]
"""Annotation for handler parameters receiving the app's window (``log_window: LogWindowDep``)."""


def _newest_first(lines: list[WindowLine]) -> Iterator[WindowLine]:
    return reversed(lines)


def _haystack(line: ShippedLogLine) -> str:
    parts = (line.message, line.logger, line.instance, line.execution_id or "", line.traceback)
    return " ".join(p for p in parts if p).casefold()


class WindowHandler(logging.Handler):
    """Keeps the API's own log records (INFO+, access lines excepted) in a :class:`LogWindow`."""

    def __init__(self, window: LogWindow, *, instance: str) -> None:
        super().__init__(logging.INFO)
        self.window = window
        self.instance = instance

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one (already scrubbed) record; never raises."""
        if record.name.startswith(_NOT_KEPT):
            return
        try:
            fields = record_fields(record)
            self.window.add(
                ShippedLogLine(
                    time=datetime.fromtimestamp(record.created, UTC),
                    level=level_name(record.levelno),
                    service="api",
                    instance=self.instance,
                    logger=record.name,
                    message=fields["message"],
                    execution_id=fields.get("execution_id"),
                    request_id=fields.get("request_id"),
                    traceback=fields.get("traceback"),
                )
            )
        except Exception:
            self.handleError(record)


def keep_api_logs(window: LogWindow, *, instance: str) -> WindowHandler:
    """Attach a :class:`WindowHandler` to the root logger (behind the redaction filter)."""
    handler = WindowHandler(window, instance=instance)
    attach(handler)
    return handler


async def follow_shipped_logs(window: LogWindow, bus: Bus) -> None:
    """Keep every line shipped on ``lifeboat.logs.>`` until cancelled (a task of the app)."""

    async def on_line(data: bytes) -> None:
        window.add_raw(data)

    sub = await bus.subscribe(subjects.LOGS_SUBJECTS, on_line)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
