"""HTTP handlers of /api/retention-policies (SPEC §6.1.5)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from lifeboat.api.auth.audit import audit
from lifeboat.api.context import Ctx
from lifeboat.api.domain.retention import service
from lifeboat.api.domain.retention.schemas import (
    DraftPreviewIn,
    PreviewIn,
    PreviewOut,
    RetentionPolicyCreate,
    RetentionPolicyOut,
    RetentionPolicyUpdate,
)
from lifeboat.api.envelope import Envelope, ok

_VIEW = {"permission": "retention.view"}
_MANAGE = {"permission": "retention.manage"}

AnyRequest = Request[Any, Any, Any]


class RetentionPolicyController(Controller):
    """Retention policies."""

    path = "/api/retention-policies"
    tags = ["retention"]

    @get("/", summary="List retention policies", opt=_VIEW)
    async def list_policies(self, ctx: Ctx) -> Envelope[list[RetentionPolicyOut]]:
        """Every policy, by name."""
        return ok(await service.list_policies(ctx))

    @post("/", status_code=HTTP_201_CREATED, summary="Create a retention policy", opt=_MANAGE)
    async def create_policy(
        self, ctx: Ctx, request: AnyRequest, data: JSONBody[RetentionPolicyCreate]
    ) -> Envelope[RetentionPolicyOut]:
        """Validate (mode and its limits, time zone) and save."""
        created = await service.create_policy(ctx, data)
        await audit(ctx, request, "retention.create", created.id, {"name": created.name})
        return ok(created)

    @get("/{policy_id:str}", summary="Get a retention policy", opt=_VIEW)
    async def get_policy(self, ctx: Ctx, policy_id: FromPath[str]) -> Envelope[RetentionPolicyOut]:
        """One policy."""
        return ok(await service.get_policy(ctx, policy_id))

    @put("/{policy_id:str}", summary="Update a retention policy", opt=_MANAGE)
    async def update_policy(
        self,
        ctx: Ctx,
        request: AnyRequest,
        policy_id: FromPath[str],
        data: JSONBody[RetentionPolicyUpdate],
    ) -> Envelope[RetentionPolicyOut]:
        """Partial update."""
        updated = await service.update_policy(ctx, policy_id, data)
        await audit(ctx, request, "retention.update", policy_id)
        return ok(updated)

    @delete(
        "/{policy_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a retention policy",
        opt=_MANAGE,
    )
    async def delete_policy(
        self, ctx: Ctx, request: AnyRequest, policy_id: FromPath[str]
    ) -> Envelope[None]:
        """Delete a policy no schedule uses (409 otherwise)."""
        await service.delete_policy(ctx, policy_id)
        await audit(ctx, request, "retention.delete", policy_id)
        return ok(None)

    @post(
        "/preview",
        status_code=HTTP_200_OK,
        summary="Preview a policy before saving it",
        opt=_VIEW,
    )
    async def preview_draft(self, ctx: Ctx, data: JSONBody[DraftPreviewIn]) -> Envelope[PreviewOut]:
        """What the policy in the body would keep and delete on a database now (nothing is
        saved); refused like a create would be when the policy is invalid."""
        return ok(await service.preview_draft(ctx, data.policy, data.database_id))

    @post(
        "/{policy_id:str}/preview",
        status_code=HTTP_200_OK,
        summary="Preview a retention policy on a database",
        opt=_VIEW,
    )
    async def preview(
        self, ctx: Ctx, policy_id: FromPath[str], data: JSONBody[PreviewIn]
    ) -> Envelope[PreviewOut]:
        """Which completed backups the policy would keep and delete now, with reasons."""
        return ok(await service.preview(ctx, policy_id, data.database_id))
