"""DTOs of /api/retention-policies (SPEC §6.1.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from lifeboat.api.domain.common import Id, Input, Output
from lifeboat.policy.retention import RetentionMode

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Description = Annotated[str, msgspec.Meta(max_length=1000)]
Keep = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
MaxAgeDays = Annotated[int, msgspec.Meta(ge=1, le=36_500)]
MaxBytes = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # an SQLite INTEGER
ZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class RetentionPolicyCreate(Input):
    """Body of POST /api/retention-policies.

    Modes (SPEC §5.5.3): ``count`` keeps the newest backup of each of the last N hours, days,
    ISO weeks, months and years (``keepHourly``...); ``age`` deletes backups older than
    ``maxAgeDays``; ``size`` keeps the newest backups within ``maxTotalBytes``; ``hybrid`` keeps a
    backup only if every configured rule keeps it. The newest completed backup is always kept.
    ``timezone`` (IANA, default the API's ``TZ``) says where hours and days begin.
    """

    name: Name
    description: Description | None = None
    mode: RetentionMode = "count"
    keep_hourly: Keep = 24
    keep_daily: Keep = 7
    keep_weekly: Keep = 4
    keep_monthly: Keep = 12
    keep_yearly: Keep = 0
    max_age_days: MaxAgeDays | None = None
    max_total_bytes: MaxBytes | None = None
    timezone: ZoneName | None = None


class RetentionPolicyUpdate(Input):
    """Body of PUT /api/retention-policies/:id: omitted fields stay as they are."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    mode: RetentionMode | msgspec.UnsetType = msgspec.UNSET
    keep_hourly: Keep | msgspec.UnsetType = msgspec.UNSET
    keep_daily: Keep | msgspec.UnsetType = msgspec.UNSET
    keep_weekly: Keep | msgspec.UnsetType = msgspec.UNSET
    keep_monthly: Keep | msgspec.UnsetType = msgspec.UNSET
    keep_yearly: Keep | msgspec.UnsetType = msgspec.UNSET
    max_age_days: MaxAgeDays | msgspec.UnsetType | None = msgspec.UNSET
    max_total_bytes: MaxBytes | msgspec.UnsetType | None = msgspec.UNSET
    timezone: ZoneName | msgspec.UnsetType = msgspec.UNSET


class RetentionPolicyOut(Output):
    """A retention policy and how many schedules use it."""

    id: str
    name: str
    description: str | None
    mode: RetentionMode
    keep_hourly: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    keep_yearly: int
    max_age_days: int | None
    max_total_bytes: int | None
    timezone: str
    schedule_count: int
    created_at: datetime
    updated_at: datetime


class PreviewIn(Input):
    """Body of POST /api/retention-policies/:id/preview."""

    database_id: Id


class DraftPreviewIn(Input):
    """Body of POST /api/retention-policies/preview: try a policy before saving it."""

    database_id: Id
    policy: RetentionPolicyCreate


class PreviewItem(Output):
    """One completed backup and why the policy keeps or deletes it."""

    backup_id: str
    started_at: datetime
    file_name: str | None
    size_bytes: int | None
    backup_type: str
    reasons: list[str]


class PreviewOut(Output):
    """What applying the policy to a database's completed backups now would keep and delete."""

    policy_id: str | None
    """None for a draft (a policy not saved yet)."""
    database_id: str
    keep: list[PreviewItem]
    delete: list[PreviewItem]
