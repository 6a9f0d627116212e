"""Auth start-up: verify the encryption key, bootstrap the first admin, purge old audit events."""

from __future__ import annotations

import asyncio
import logging

from lifeboat.api.auth.audit import purge_audit, record_audit
from lifeboat.api.auth.service import create_first_admin
from lifeboat.api.context import ApiContext
from lifeboat.api.keyring import verify_key, watch_key_version
from lifeboat.api.security import ensure_default_settings

log = logging.getLogger(__name__)

PURGE_EVERY_S = 3600.0


async def purge_audit_forever(ctx: ApiContext, every_s: float = PURGE_EVERY_S) -> None:
    """Delete audit events older than AUDIT_RETENTION_DAYS, now and then every `every_s`."""
    while True:
        try:
            gone = await purge_audit(ctx, days=ctx.settings.auth.audit_retention_days)
            if gone:
                log.info(
                    "purged %d audit events older than %d days",
                    gone,
                    ctx.settings.auth.audit_retention_days,
                )
        except Exception:
            log.exception("audit purge failed")
        await asyncio.sleep(every_s)


async def start_auth(ctx: ApiContext, tasks: set[asyncio.Task[None]]) -> None:
    """Refuse a wrong ENCRYPTION_KEY, create the env-configured admin, start the audit purge."""
    await verify_key(ctx)
    await ensure_default_settings(ctx)
    auth = ctx.settings.auth
    if auth.admin_email and auth.admin_password:
        user = await create_first_admin(ctx, auth.admin_email, auth.admin_password)
        if user is not None:
            log.info("created the first admin account %s from ADMIN_EMAIL", user.email)
            async with ctx.db.write() as session:
                await record_audit(session, "system", "auth.setup", user.email, {"via": "env"})
    tasks.add(asyncio.create_task(purge_audit_forever(ctx), name="audit-purge"))
    tasks.add(asyncio.create_task(watch_key_version(ctx), name="key-version-watch"))
