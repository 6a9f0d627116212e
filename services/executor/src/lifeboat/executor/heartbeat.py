"""The executor's heartbeat: who it is, which queue it serves, its tools and its running jobs.

Published with core NATS (fire and forget) on :data:`lifeboat.wire.subjects.EXECUTOR_HEARTBEAT`
every ``EXECUTOR_HEARTBEAT_SECONDS``; the API keeps a registry of them (``GET /api/executors``)
and warns when a queue some database uses has no live executor. A lost beat costs nothing: the
API calls an executor live while it heard from it within three intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from lifeboat.engines.common import Toolbox
from lifeboat.engines.registry import tools as engine_tools
from lifeboat.engines.server_info import tool_version
from lifeboat.executor.settings import Settings
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.codec import encode
from lifeboat.wire.messages import ExecutorHeartbeat

log = logging.getLogger(__name__)

TOOLS: tuple[str, ...] = (*engine_tools(), "zstd", "gzip")
"""Every client tool a job may run, in the order the UI lists them."""

UNKNOWN_VERSION = "unknown version"


def executor_version() -> str:
    """The installed version of the executor package."""
    try:
        return version("lifeboat-executor")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"


async def detect_tools(toolbox: Toolbox, base_env: Mapping[str, str]) -> dict[str, str | None]:
    """Each of :data:`TOOLS` mapped to its ``--version`` line, or None when it is not installed.

    A tool that is there but does not say its version still counts as found (a job would run
    it), so it maps to :data:`UNKNOWN_VERSION` rather than None.
    """

    async def one(name: str) -> str | None:
        if not toolbox.has(name):
            return None
        try:
            return await tool_version(toolbox, name, base_env=base_env)
        except Exception as exc:
            log.warning("%s --version failed: %s", name, exc)
            return UNKNOWN_VERSION

    found = await asyncio.gather(*(one(name) for name in TOOLS))
    return dict(zip(TOOLS, found, strict=True))


class Heartbeat:
    """Builds and publishes the beats of one executor process."""

    def __init__(
        self,
        bus: Bus,
        settings: Settings,
        *,
        tools: Mapping[str, str | None],
        running: Callable[[], Collection[str]],
        started_at: datetime | None = None,
    ) -> None:
        self._bus = bus
        self._settings = settings
        self._tools = dict(tools)
        self._running = running
        self._version = executor_version()
        self.started_at = started_at or datetime.now(UTC)

    def beat(self, *, stopping: bool = False) -> ExecutorHeartbeat:
        """The beat to send now."""
        return ExecutorHeartbeat(
            executor_id=self._settings.executor_id,
            queue=self._settings.queue,
            version=self._version,
            tools=dict(self._tools),
            running=sorted(self._running()),
            concurrency=self._settings.concurrency,
            started_at=self.started_at,
            at=datetime.now(UTC),
            interval_s=self._settings.beat_interval_s,
            stopping=stopping,
        )

    async def publish(self, *, stopping: bool = False) -> None:
        """Send one beat; a failure is logged, never raised (the next beat may get through)."""
        try:
            await self._bus.publish(
                subjects.EXECUTOR_HEARTBEAT, encode(self.beat(stopping=stopping))
            )
        except Exception as exc:
            log.debug("heartbeat not sent: %s", exc)

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every interval until cancelled.

        Once `stop` is set the executor takes no new job but may still be draining running
        ones, so it keeps beating (their ids stay visible) with ``stopping`` set.
        """
        interval = self._settings.beat_interval_s
        while True:
            await self.publish(stopping=stop.is_set())
            if stop.is_set():
                await asyncio.sleep(interval)
                continue
            # Wake as soon as stop is set, so the API hears of it at once.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
