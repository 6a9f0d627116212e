"""Scheduler settings, read once from an environment mapping."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import msgspec

from lifeboat.core.config import env_int


class SchedulerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the scheduler needs: where NATS is and who it is."""

    nats_url: str
    scheduler_id: str
    heartbeat_seconds: int
    timezone: str
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SchedulerSettings:
        """Build settings from environment variables (see README "Configuration")."""
        return cls(
            nats_url=env.get("NATS_URL", "nats://127.0.0.1:4222"),
            scheduler_id=env.get("SCHEDULER_ID") or f"{socket.gethostname()}-{os.getpid()}",
            heartbeat_seconds=env_int(env, "SCHEDULER_HEARTBEAT_SECONDS", 10, minimum=1),
            timezone=env.get("TZ", "UTC"),
            log_level=env.get("LOG_LEVEL", "info"),
        )
