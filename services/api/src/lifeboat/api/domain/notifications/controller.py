"""HTTP handlers of /api/notification-channels."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from lifeboat.api.auth.audit import audit
from lifeboat.api.context import Ctx
from lifeboat.api.domain.notifications import service
from lifeboat.api.domain.notifications.schemas import (
    ChannelCreate,
    ChannelCreated,
    ChannelOut,
    ChannelUpdate,
    DeliveryOut,
    TestOut,
)
from lifeboat.api.envelope import Envelope, ok

VIEW = {"permission": "system.view"}
MANAGE = {"permission": "system.configure"}


def _described(data: ChannelCreate | ChannelUpdate) -> dict[str, Any]:
    """The request body for the audit trail, without the URL and the secret."""
    body: dict[str, Any] = msgspec.to_builtins(data)
    body.pop("url", None)
    body.pop("secret", None)
    return body


class NotificationChannelController(Controller):
    """Notification channels; URLs and secrets are write-only."""

    path = "/api/notification-channels"
    tags = ["notifications"]

    @get("/", summary="List notification channels", opt=VIEW)
    async def list_channels(self, ctx: Ctx) -> Envelope[list[ChannelOut]]:
        """Every channel (URLs masked, secrets never included)."""
        return ok(await service.list_channels(ctx))

    @post("/", status_code=HTTP_201_CREATED, summary="Create a notification channel", opt=MANAGE)
    async def create_channel(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[ChannelCreate]
    ) -> Envelope[ChannelCreated]:
        """Validate and store; URL and secret are encrypted at rest."""
        created = await service.create_channel(ctx, data)
        await audit(ctx, request, "notification_channel.create", created.id, _described(data))
        return ok(created)

    @get("/{channel_id:str}", summary="Get a notification channel", opt=VIEW)
    async def get_channel(self, ctx: Ctx, channel_id: FromPath[str]) -> Envelope[ChannelOut]:
        """One channel."""
        return ok(await service.get_channel(ctx, channel_id))

    @put("/{channel_id:str}", summary="Update a notification channel", opt=MANAGE)
    async def update_channel(
        self,
        ctx: Ctx,
        request: Request[Any, Any, Any],
        channel_id: FromPath[str],
        data: JSONBody[ChannelUpdate],
    ) -> Envelope[ChannelOut]:
        """Partial update; the URL and secret are kept unless given."""
        updated = await service.update_channel(ctx, channel_id, data)
        await audit(ctx, request, "notification_channel.update", channel_id, _described(data))
        return ok(updated)

    @delete(
        "/{channel_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a notification channel",
        opt=MANAGE,
    )
    async def delete_channel(
        self, ctx: Ctx, request: Request[Any, Any, Any], channel_id: FromPath[str]
    ) -> Envelope[None]:
        """Delete the channel and its delivery history."""
        await service.delete_channel(ctx, channel_id)
        await audit(ctx, request, "notification_channel.delete", channel_id)
        return ok(None)

    @post(
        "/{channel_id:str}/test",
        status_code=HTTP_200_OK,
        summary="Send a test notification",
        opt=MANAGE,
    )
    async def test_channel(self, ctx: Ctx, channel_id: FromPath[str]) -> Envelope[TestOut]:
        """Send a test notification now and report how it went (recorded as a delivery)."""
        return ok(await service.test_channel(ctx, channel_id))

    @get("/{channel_id:str}/deliveries", summary="List a channel's deliveries", opt=VIEW)
    async def list_deliveries(
        self,
        ctx: Ctx,
        channel_id: FromPath[str],
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=service.MAX_DELIVERIES)] = 50,
    ) -> Envelope[list[DeliveryOut]]:
        """The latest deliveries, newest first, each with its tries (status, errors)."""
        return ok(await service.list_deliveries(ctx, channel_id, limit))
