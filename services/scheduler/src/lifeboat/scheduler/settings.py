"""Scheduler settings, read once from an environment mapping."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import msgspec

from lifeboat.core.config import env_int
from lifeboat.wire.connection import NatsOptions, options_from_env
from lifeboat.wire.subjects import inbox_prefix


class SchedulerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the scheduler needs: where NATS is, who it is, and how often it looks."""

    nats_url: str
    scheduler_id: str
    heartbeat_seconds: int
    timezone: str
    log_level: str
    tick_ms: int = 250
    """How often due slots are checked (SCHEDULER_TICK_MS)."""
    rewatch_seconds: int = 60
    """How often the schedules KV watch is re-established from scratch, as a safety net
    (SCHEDULER_REWATCH_SECONDS)."""
    clock_offset_seconds: int = 0
    """Test hook: run the schedules this many seconds ahead of the real clock
    (SCHEDULER_CLOCK_OFFSET_SECONDS; never set it in production)."""
    nats: NatsOptions | None = None
    """Credentials, TLS and the server list (NATS_URL, NATS_USER, NATS_CREDS, NATS_TLS_*...);
    None: ``nats_url`` alone, without credentials."""

    @property
    def nats_options(self) -> NatsOptions:
        """How to connect to NATS."""
        return self.nats or NatsOptions.from_url(self.nats_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SchedulerSettings:
        """Build settings from environment variables (see README "Configuration")."""
        return cls(
            nats_url=env.get("NATS_URL", "nats://127.0.0.1:4222"),
            scheduler_id=env.get("SCHEDULER_ID") or f"{socket.gethostname()}-{os.getpid()}",
            heartbeat_seconds=env_int(env, "SCHEDULER_HEARTBEAT_SECONDS", 10, minimum=1),
            timezone=env.get("TZ", "UTC"),
            log_level=env.get("LOG_LEVEL", "info"),
            tick_ms=env_int(env, "SCHEDULER_TICK_MS", 250, minimum=10),
            rewatch_seconds=env_int(env, "SCHEDULER_REWATCH_SECONDS", 60, minimum=1),
            clock_offset_seconds=env_int(env, "SCHEDULER_CLOCK_OFFSET_SECONDS", 0),
            nats=options_from_env(env, inbox_prefix=inbox_prefix("scheduler")),
        )
