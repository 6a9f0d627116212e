"""HTTP handlers of verification restores: ``POST /api/backups/{id}/verify`` and reading them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from lifeboat.api.auth.audit import audit, request_actor
from lifeboat.api.auth.guard import principal_of
from lifeboat.api.context import Ctx
from lifeboat.api.domain.cancel import cancel_execution
from lifeboat.api.domain.databases.schemas import DatabaseOut
from lifeboat.api.domain.verifications import service
from lifeboat.api.domain.verifications.schemas import (
    VerificationDetailOut,
    VerificationOut,
    VerificationTargetIn,
)
from lifeboat.api.envelope import Envelope, ok


class BackupVerificationController(Controller):
    """Verifying a backup, and its verifications."""

    path = "/api/backups"
    tags = ["backups"]

    @post(
        "/{backup_id:str}/verify",
        status_code=HTTP_202_ACCEPTED,
        summary="Verify a backup by restoring it into a scratch database",
        opt={"permission": "backup.execute"},
    )
    async def verify(
        self, ctx: Ctx, request: Request[Any, Any, Any], backup_id: FromPath[str]
    ) -> Envelope[VerificationOut]:
        """Queue a verification: an executor restores the backup into a new scratch database on
        the same server, compares row counts and schema object counts with the ones recorded at
        backup time, and drops the scratch database. 409 when the backup is not completed, has
        no local copy or no recorded counts, or is being verified."""
        out = await service.request_verification(
            ctx, backup_id, initiated_by=request_actor(request)
        )
        await audit(ctx, request, "backup.verify", backup_id, {"verificationId": out.id})
        return ok(out)

    @get(
        "/{backup_id:str}/verifications",
        summary="List a backup's verifications",
        opt={"permission": "backup.view"},
    )
    async def list_verifications(
        self, ctx: Ctx, backup_id: FromPath[str]
    ) -> Envelope[list[VerificationOut]]:
        """The verifications of a backup, newest first."""
        return ok(await service.list_for_backup(ctx, backup_id))


class VerificationController(Controller):
    """One verification run."""

    path = "/api/verifications"
    tags = ["backups"]

    @get(
        "/{verification_id:str}",
        summary="Get a verification with its log",
        opt={"permission": "backup.view"},
    )
    async def get_verification(
        self, ctx: Ctx, verification_id: FromPath[str]
    ) -> Envelope[VerificationDetailOut]:
        """One verification (status, progress, outcome) and its log."""
        return ok(await service.get_verification(ctx, verification_id))

    @post(
        "/{verification_id:str}/cancel",
        status_code=HTTP_202_ACCEPTED,
        summary="Cancel a queued or running verification",
        opt={"permission": "backup.execute"},
    )
    async def cancel(
        self, ctx: Ctx, request: Request[Any, Any, Any], verification_id: FromPath[str]
    ) -> Envelope[VerificationDetailOut]:
        """Stop the verification: the restore is killed and the scratch database dropped; the
        record ends ``cancelled`` and the backup keeps its earlier verdict. 409 once it ended."""
        principal = principal_of(request)
        await cancel_execution(ctx, "verify", verification_id, by=principal.actor)
        await audit(ctx, request, "verification.cancel", verification_id, {})
        return ok(await service.get_verification(ctx, verification_id))


class VerificationTargetController(Controller):
    """Where verification restores of a database's backups go."""

    path = "/api/databases"
    tags = ["databases"]

    @put(
        "/{config_id:str}/verification-target",
        summary="Set the server verification restores of a database's backups use",
        opt={"permission": "database.manage"},
    )
    async def set_target(
        self,
        ctx: Ctx,
        request: Request[Any, Any, Any],
        config_id: FromPath[str],
        data: JSONBody[VerificationTargetIn],
    ) -> Envelope[DatabaseOut]:
        """``{"verificationDatabaseId": id}``: restore verifications on that configuration's
        server (same engine; its user needs the right to create databases); null: on the
        database's own server."""
        target = data.verification_database_id
        out = await service.set_verification_target(ctx, config_id, target)
        await audit(ctx, request, "database.verification_target", config_id, {"target": target})
        return ok(out)
