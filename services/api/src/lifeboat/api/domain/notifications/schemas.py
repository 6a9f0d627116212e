"""DTOs of /api/notification-channels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from lifeboat.api.domain.common import Id, Input, Output

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Url = Annotated[str, msgspec.Meta(min_length=3, max_length=2048, pattern=r"^[^\x00-\x20\x7f]+$")]
Secret = Annotated[str, msgspec.Meta(min_length=16, max_length=256, pattern=r"^[\x21-\x7e]+$")]
EventList = Annotated[list[str], msgspec.Meta(min_length=1, max_length=32)]
DatabaseIds = Annotated[list[Id], msgspec.Meta(max_length=1000)]
Kind = Literal["apprise", "webhook"]


class ChannelCreate(Input):
    """Body of POST /api/notification-channels.

    ``url``: an Apprise URL (``kind: "apprise"``, the default) or, with ``kind: "webhook"``, an
    http(s) URL receiving Lifeboat's signed JSON. ``secret``: the webhook's signing key (at
    least 16 characters); generated when omitted and then returned once, in this response only.
    ``databaseIds``: only events of these databases (omitted or null: every database; events
    that concern no database, such as ``disk.low``, always go to every channel subscribed).
    """

    name: Name
    url: Url
    events: EventList
    kind: Kind = "apprise"
    secret: Secret | None = None
    database_ids: DatabaseIds | None = None
    enabled: bool = True


class ChannelUpdate(Input):
    """Body of PUT /api/notification-channels/:id: omitted fields stay as they are (the URL
    and secret too)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    url: Url | msgspec.UnsetType = msgspec.UNSET
    events: EventList | msgspec.UnsetType = msgspec.UNSET
    kind: Kind | msgspec.UnsetType = msgspec.UNSET
    secret: Secret | msgspec.UnsetType = msgspec.UNSET
    database_ids: DatabaseIds | msgspec.UnsetType | None = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class ChannelOut(Output):
    """A channel; its URL only masked (``slack://****``), its secret never."""

    id: str
    name: str
    kind: Kind
    url_masked: str
    has_secret: bool
    events: list[str]
    database_ids: list[str] | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    last_delivery_status: str | None = None
    last_delivery_at: datetime | None = None


class ChannelCreated(ChannelOut):
    """The created channel; ``generatedSecret`` is the webhook secret the API made up (shown
    this once; null when one was given or for Apprise channels)."""

    generated_secret: str | None = None


class AttemptOut(Output):
    """One try at sending a delivery."""

    attempt: int
    ok: bool
    error: str | None
    duration_ms: int
    at: datetime


class DeliveryOut(Output):
    """One event sent (or being sent) to a channel, with its attempts."""

    id: str
    channel_id: str
    event: str
    database_id: str | None
    title: str
    body: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    tries: list[AttemptOut]


class TestOut(Output):
    """Outcome of POST /api/notification-channels/:id/test (sent synchronously, once)."""

    ok: bool
    error: str | None
    duration_ms: int
    delivery_id: str
