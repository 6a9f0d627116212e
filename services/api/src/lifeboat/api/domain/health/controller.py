"""Liveness and readiness probes (SPEC §11.2.2)."""

from __future__ import annotations

import logging

from litestar import Controller, get

from lifeboat.api.context import Ctx
from lifeboat.api.domain.common import Output
from lifeboat.api.domain.executors.registry import Executors
from lifeboat.api.domain.executors.service import queue_warnings
from lifeboat.api.domain.schedulers.registry import SchedulerRegistry, Schedulers
from lifeboat.api.domain.system.service import disk_usage
from lifeboat.api.envelope import Envelope, ok
from lifeboat.core.errors import UnavailableError

log = logging.getLogger(__name__)


class CheckOut(Output):
    """One readiness check; ``warning``: it passed but something is worth a look."""

    ok: bool
    detail: str
    warning: bool = False


class HealthOut(Output):
    """Overall health and, for readiness, each check and what is worth a look but not fatal."""

    status: str
    checks: dict[str, CheckOut] | None = None
    warnings: list[str] | None = None


def scheduler_check(registry: SchedulerRegistry) -> CheckOut:
    """Whether a live scheduler is heard from (a warning, never a failure: the API serves
    without one, only schedules do not fire)."""
    now = registry.now()
    states = registry.states()
    live = [s for s in states if s.live(now)]
    if live:
        age = min(s.age_seconds(now) for s in live)
        return CheckOut(ok=True, detail=f"{len(live)} live; last heartbeat {age:.0f}s ago")
    if states:
        age = states[0].age_seconds(now)
        return CheckOut(ok=True, warning=True, detail=f"no heartbeat for {age:.0f}s")
    return CheckOut(ok=True, warning=True, detail="no scheduler heard from since the API started")


class HealthController(Controller):
    """Probes for orchestrators."""

    path = "/api/health"
    tags = ["health"]

    @get("/live", summary="Liveness", opt={"public": True})
    async def live(self) -> Envelope[HealthOut]:
        """200 while the process serves requests."""
        return ok(HealthOut(status="ok"))

    @get("/ready", summary="Readiness", opt={"public": True})
    async def ready(
        self, ctx: Ctx, executors: Executors, schedulers: Schedulers
    ) -> Envelope[HealthOut]:
        """200 when SQLite answers, NATS is connected and disk space suffices; else 503.

        The ``executors`` and ``scheduler`` checks never fail readiness (they may start after
        the API): a queue some enabled database uses without a live executor is listed in
        ``warnings``; a scheduler not heard from sets the ``scheduler`` check's ``warning``.
        """
        checks: dict[str, CheckOut] = {}
        try:
            await ctx.db.ping()
            checks["database"] = CheckOut(ok=True, detail="select 1 answered")
        except Exception as exc:
            log.warning("readiness: database check failed: %s", exc)
            checks["database"] = CheckOut(ok=False, detail="SQLite did not answer")
        checks["nats"] = (
            CheckOut(ok=True, detail="connected")
            if ctx.nats.connected
            else CheckOut(ok=False, detail="not connected")
        )
        disk = disk_usage(ctx.settings.backup_storage_path)
        minimum = ctx.settings.min_free_disk_bytes
        checks["disk"] = CheckOut(
            ok=disk.free_bytes >= minimum,
            detail=f"{disk.free_bytes} bytes free, {minimum} required",
        )
        failed = [name for name, check in checks.items() if not check.ok]
        warnings: list[str] = []
        if not failed:
            try:
                warnings = [w.message for w in await queue_warnings(ctx, executors)]
            except Exception as exc:  # a warning must never fail readiness
                log.warning("readiness: executors check failed: %s", exc)
            checks["executors"] = CheckOut(
                ok=True,
                warning=bool(warnings),
                detail="; ".join(warnings) or "every queue in use has a live executor",
            )
            # Reported in its check only: ``warnings`` stays the list of unserved queues.
            checks["scheduler"] = scheduler_check(schedulers)
        if failed:
            raise UnavailableError(
                f"not ready: {', '.join(failed)}",
                details={name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
            )
        return ok(HealthOut(status="ready", checks=checks, warnings=warnings))
