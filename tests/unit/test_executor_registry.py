"""The API's executor registry: liveness, stopping, forgetting, and what the executor sends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from lifeboat.api.domain.executors.registry import ExecutorRegistry
from lifeboat.engines.common import Toolbox
from lifeboat.executor.heartbeat import TOOLS, Heartbeat, detect_tools
from lifeboat.executor.settings import Settings
from lifeboat.wire.codec import encode
from lifeboat.wire.messages import ExecutorHeartbeat

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def beat(executor_id: str, queue: str = "default", **extra: object) -> ExecutorHeartbeat:
    fields: dict[str, object] = {
        "executor_id": executor_id,
        "queue": queue,
        "version": "1.2.3",
        "tools": {"pg_dump": "pg_dump (PostgreSQL) 16", "mysql": None},
        "running": [],
        "concurrency": 2,
        "started_at": T0,
        "at": T0,
        "interval_s": 5.0,
        **extra,
    }
    return ExecutorHeartbeat(**fields)  # type: ignore[arg-type]


def test_live_within_three_intervals_then_stale_then_forgotten() -> None:
    clock = Clock()
    registry = ExecutorRegistry(clock)
    registry.record_raw(encode(beat("a")))
    registry.record(beat("b", "reports"))
    assert [s.beat.executor_id for s in registry.states()] == ["a", "b"]
    assert registry.live_queues() == {"default", "reports"}

    clock.now = T0 + timedelta(seconds=15)
    assert registry.live_queues() == {"default", "reports"}
    clock.now = T0 + timedelta(seconds=16)
    assert registry.live_queues() == set()
    assert all(not s.live(clock.now) for s in registry.states())

    registry.record(beat("a"))  # heard from again: live again
    assert registry.live_queues() == {"default"}

    clock.now = T0 + timedelta(minutes=10, seconds=1)
    assert [s.beat.executor_id for s in registry.states()] == ["a"]
    clock.now = T0 + timedelta(minutes=20, seconds=17)
    assert registry.states() == []


def test_a_stopping_executor_is_not_live_at_once() -> None:
    registry = ExecutorRegistry(Clock())
    registry.record(beat("a"))
    registry.record(beat("a", stopping=True))
    (state,) = registry.states()
    assert state.beat.stopping and not state.live(registry.now())
    assert registry.live_queues() == set()


def test_unreadable_beats_are_ignored() -> None:
    registry = ExecutorRegistry(Clock())
    registry.record_raw(b"not json")
    registry.record_raw(b'{"executor_id": "x"}')
    assert registry.states() == []


def test_unknown_fields_of_a_newer_executor_are_accepted() -> None:
    registry = ExecutorRegistry(Clock())
    data = msgspec.json.decode(encode(beat("a")))
    data["something_new"] = 1
    registry.record_raw(msgspec.json.encode(data))
    assert [s.beat.executor_id for s in registry.states()] == ["a"]


def test_the_executor_beat_names_every_tool_found_or_not(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "EXECUTOR_SEAL_KEY": "k" * 40,
            "EXECUTOR_ID": "exec-1",
            "EXECUTOR_QUEUE": "reports",
            "EXECUTOR_HEARTBEAT_SECONDS": "7",
        },
        create_key=False,
    )
    assert settings.beat_interval_s == 7.0
    # An empty tool path: every tool is missing (None), none is "unknown".
    tools = asyncio.run(detect_tools(Toolbox(str(tmp_path)), {}))
    assert tools == dict.fromkeys(TOOLS)
    running = {"e1", "e0"}
    sent = Heartbeat(None, settings, tools=tools, running=lambda: running).beat()  # type: ignore[arg-type]
    assert (sent.executor_id, sent.queue, sent.interval_s) == ("exec-1", "reports", 7.0)
    assert sent.running == ["e0", "e1"] and not sent.stopping
    assert list(sent.tools) == list(TOOLS)
