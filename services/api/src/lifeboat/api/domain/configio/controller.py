"""HTTP handlers of /api/system/config: export and import of the configuration (admins)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from lifeboat.api.auth.audit import audit
from lifeboat.api.context import Ctx
from lifeboat.api.domain.configio.export import export_config
from lifeboat.api.domain.configio.importer import import_config
from lifeboat.api.domain.configio.schemas import (
    ConfigDocument,
    ConfigExportIn,
    ConfigImportIn,
    ConfigImportOut,
)
from lifeboat.api.envelope import Envelope, ok


class ConfigIoController(Controller):
    """Configuration export and import (disaster recovery)."""

    path = "/api/system/config"
    tags = ["system"]

    @post(
        "/export",
        status_code=HTTP_200_OK,
        summary="Export the configuration",
        opt={"permission": "system.configure"},
    )
    async def export_config(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[ConfigExportIn]
    ) -> Envelope[ConfigDocument]:
        """Databases, S3 configurations, retention policies, schedules and settings as a
        versioned document; secrets sealed under ``passphrase`` or omitted. A POST so the
        passphrase travels in the body, never in a URL."""
        document = await export_config(ctx, data)
        await audit(
            ctx,
            request,
            "config.export",
            None,
            {
                "secrets": document.secrets,
                "databases": len(document.databases),
                "s3Configs": len(document.s3_configs),
                "retentionPolicies": len(document.retention_policies),
                "schedules": len(document.schedules),
            },
        )
        return ok(document)

    @post(
        "/import",
        status_code=HTTP_200_OK,
        summary="Import a configuration",
        opt={"permission": "system.configure"},
    )
    async def import_config(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[ConfigImportIn]
    ) -> Envelope[ConfigImportOut]:
        """Validate a document and create what it holds in one transaction (all or nothing);
        ``dryRun`` reports what would be created."""
        result = await import_config(ctx, data)
        if not result.dry_run:
            await audit(
                ctx,
                request,
                "config.import",
                None,
                {"created": result.created, "skipped": result.skipped},
            )
        return ok(result)
