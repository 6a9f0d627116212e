"""HTTP handlers of /api/s3-configs (SPEC §6.1.6) and of the manifest imports."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from lifeboat.api.auth.audit import audit
from lifeboat.api.context import Ctx
from lifeboat.api.domain.s3configs import importer, objects, service
from lifeboat.api.domain.s3configs.schemas import (
    ImportOut,
    S3BucketsOut,
    S3ConfigCreate,
    S3ConfigOut,
    S3ConfigUpdate,
    S3ObjectsOut,
    S3TestOut,
)
from lifeboat.api.envelope import Envelope, ok

VIEW = {"permission": "s3.view"}
MANAGE = {"permission": "s3.manage"}


def _described(data: S3ConfigCreate | S3ConfigUpdate) -> dict[str, Any]:
    """The request body for the audit trail, without the keys (not even masked)."""
    body: dict[str, Any] = msgspec.to_builtins(data)
    body.pop("accessKeyId", None)
    body.pop("secretAccessKey", None)
    return body


class S3ConfigController(Controller):
    """S3 configurations; keys are write-only."""

    path = "/api/s3-configs"
    tags = ["s3-configs"]

    @get("/", summary="List S3 configurations", opt=VIEW)
    async def list_configs(self, ctx: Ctx) -> Envelope[list[S3ConfigOut]]:
        """Every configuration (keys never included)."""
        return ok(await service.list_configs(ctx))

    @post("/", status_code=HTTP_201_CREATED, summary="Create an S3 configuration", opt=MANAGE)
    async def create_config(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[S3ConfigCreate]
    ) -> Envelope[S3ConfigOut]:
        """Validate and store; the keys are encrypted at rest."""
        created = await service.create_config(ctx, data)
        await audit(ctx, request, "s3_config.create", created.id, _described(data))
        return ok(created)

    @get("/{config_id:str}", summary="Get an S3 configuration", opt=VIEW)
    async def get_config(self, ctx: Ctx, config_id: FromPath[str]) -> Envelope[S3ConfigOut]:
        """One configuration."""
        return ok(await service.get_config(ctx, config_id))

    @put("/{config_id:str}", summary="Update an S3 configuration", opt=MANAGE)
    async def update_config(
        self,
        ctx: Ctx,
        request: Request[Any, Any, Any],
        config_id: FromPath[str],
        data: JSONBody[S3ConfigUpdate],
    ) -> Envelope[S3ConfigOut]:
        """Partial update; omitted keys are kept."""
        updated = await service.update_config(ctx, config_id, data)
        await audit(ctx, request, "s3_config.update", config_id, _described(data))
        return ok(updated)

    @delete(
        "/{config_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete an S3 configuration",
        opt=MANAGE,
    )
    async def delete_config(
        self, ctx: Ctx, request: Request[Any, Any, Any], config_id: FromPath[str]
    ) -> Envelope[None]:
        """Delete the configuration (objects in the bucket stay)."""
        await service.delete_config(ctx, config_id)
        await audit(ctx, request, "s3_config.delete", config_id)
        return ok(None)

    @post(
        "/{config_id:str}/test",
        status_code=HTTP_200_OK,
        summary="Test S3 connectivity and permissions",
        opt=MANAGE,
    )
    async def test_config(self, ctx: Ctx, config_id: FromPath[str]) -> Envelope[S3TestOut]:
        """HeadBucket, then put and delete a probe object; reports which step failed."""
        return ok(await service.test_config(ctx, config_id))

    @get("/{config_id:str}/buckets", summary="List available buckets", opt=MANAGE)
    async def buckets(self, ctx: Ctx, config_id: FromPath[str]) -> Envelope[S3BucketsOut]:
        """Buckets the configured credentials can list."""
        return ok(await service.list_buckets(ctx, config_id))

    @get("/{config_id:str}/objects", summary="List objects of the bucket", opt=VIEW)
    async def list_objects(
        self,
        ctx: Ctx,
        config_id: FromPath[str],
        prefix: Annotated[
            str | None, QueryParameter(name="prefix", max_length=objects.MAX_KEY_BYTES)
        ] = None,
        start_after: Annotated[
            str | None, QueryParameter(name="startAfter", max_length=objects.MAX_KEY_BYTES)
        ] = None,
        limit: Annotated[
            int, QueryParameter(name="limit", ge=1, le=objects.MAX_LIST_LIMIT)
        ] = objects.DEFAULT_LIST_LIMIT,
    ) -> Envelope[S3ObjectsOut]:
        """Objects under `prefix` (default: the path prefix) in key order, each flagged with
        whether a Lifeboat manifest sits beside it; page on with ``startAfter``."""
        return ok(
            await objects.list_objects(
                ctx, config_id, prefix=prefix, start_after=start_after, limit=limit
            )
        )

    @post(
        "/{config_id:str}/import",
        status_code=HTTP_200_OK,
        summary="Import backups from the bucket's manifests",
        opt=MANAGE,
    )
    async def import_bucket(
        self, ctx: Ctx, request: Request[Any, Any, Any], config_id: FromPath[str]
    ) -> Envelope[ImportOut]:
        """Rebuild backup records from every manifest under the path prefix (idempotent)."""
        result = await importer.import_from_s3(ctx, config_id)
        await audit(ctx, request, "backups.import", config_id, msgspec.to_builtins(result))
        return ok(result)


class LocalImportController(Controller):
    """Importing the history of the local backup storage."""

    path = "/api/system"
    tags = ["system"]

    @post(
        "/import-local",
        status_code=HTTP_200_OK,
        summary="Import backups from local manifests",
        opt=MANAGE,
    )
    async def import_local(self, ctx: Ctx, request: Request[Any, Any, Any]) -> Envelope[ImportOut]:
        """Rebuild backup records from every manifest under BACKUP_STORAGE_PATH (idempotent)."""
        result = await importer.import_local(ctx)
        await audit(ctx, request, "backups.import", None, msgspec.to_builtins(result))
        return ok(result)
