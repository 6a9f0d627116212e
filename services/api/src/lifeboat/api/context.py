"""Everything a request handler or background task needs, built once per app."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from litestar.di import NamedDependency

from lifeboat.api.auth.runtime import AuthRuntime
from lifeboat.api.db.engine import Database
from lifeboat.api.db.models import utcnow
from lifeboat.api.hub import UpdateHub
from lifeboat.api.link import NatsLink
from lifeboat.api.settings import Settings
from lifeboat.core.crypto import Sealer, SecretBox


@dataclass
class ApiContext:
    """Process-wide services of the API (one per app instance)."""

    settings: Settings
    db: Database
    box: SecretBox
    sealer: Sealer
    nats: NatsLink
    hub: UpdateHub
    auth: AuthRuntime = field(default_factory=AuthRuntime)
    started_at: datetime = field(default_factory=utcnow)
    started_monotonic: float = field(default_factory=time.monotonic)
    clock: Callable[[], datetime] = utcnow
    """The current time (aware, UTC) as retention sees it ("now" of its plans and previews);
    tests replace it with a fake clock."""

    @classmethod
    def build(cls, settings: Settings) -> ApiContext:
        """Wire up the services for `settings` (no I/O beyond key stretching)."""
        return cls(
            settings=settings,
            db=Database(settings.database_path),
            box=SecretBox(settings.encryption_key),
            sealer=Sealer(settings.executor_seal_key),
            nats=NatsLink(settings.nats_options),
            hub=UpdateHub(),
        )

    @property
    def uptime_seconds(self) -> float:
        """Seconds since this context was built."""
        return time.monotonic() - self.started_monotonic


Ctx = NamedDependency[ApiContext]
"""Annotation for handler parameters receiving the app's context (``ctx: Ctx``)."""
