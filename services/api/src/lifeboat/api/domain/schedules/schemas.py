"""DTOs of /api/schedules (SPEC §6.1.2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from lifeboat.api.domain.common import CompressionName, Id, Input, Output
from lifeboat.api.domain.verifications.schemas import VerifyEvery

ScheduleType = Literal["hourly", "daily", "weekly", "monthly", "custom"]
CronText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
RetryCount = Annotated[int, msgspec.Meta(ge=0, le=10)]
RetryDelay = Annotated[int, msgspec.Meta(ge=1, le=86_400)]


class ScheduleCreate(Input):
    """Body of POST /api/schedules.

    ``cronExpression`` is required for ``custom`` schedules; the predefined types fill it in
    (SPEC §5.4.2) and refuse a different one. ``timezone`` (IANA) defaults to the API's ``TZ``.
    ``retryCount``/``retryDelaySeconds`` left null follow the API's defaults
    (``SCHEDULE_RETRY_COUNT``, ``SCHEDULE_RETRY_DELAY_SECONDS``); the n-th retry waits
    ``retryDelaySeconds * 2**(n-1)``.
    """

    database_config_id: Id
    schedule_type: ScheduleType
    cron_expression: CronText | None = None
    timezone: ZoneName | None = None
    enabled: bool = True
    s3_upload_enabled: bool = False
    s3_config_id: Id | None = None
    """The S3 configuration of the S3 copy (default: the default configuration)."""
    store_locally: bool = True
    """False: S3 only (needs ``s3UploadEnabled``)."""
    retention_policy_id: Id | None = None
    compression: CompressionName = "zstd"
    retry_count: RetryCount | None = None
    retry_delay_seconds: RetryDelay | None = None
    verify_every: VerifyEvery = "none"
    """Verify the latest completed backup by restoring it into a scratch database after each
    backup, at most daily, at most weekly, or never (``none``)."""


class ScheduleUpdate(Input):
    """Body of PUT /api/schedules/:id: every field optional; omitted fields stay as they are."""

    database_config_id: Id | msgspec.UnsetType = msgspec.UNSET
    schedule_type: ScheduleType | msgspec.UnsetType = msgspec.UNSET
    cron_expression: CronText | msgspec.UnsetType = msgspec.UNSET
    timezone: ZoneName | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    s3_upload_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    s3_config_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    store_locally: bool | msgspec.UnsetType = msgspec.UNSET
    retention_policy_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    compression: CompressionName | msgspec.UnsetType = msgspec.UNSET
    retry_count: RetryCount | msgspec.UnsetType | None = msgspec.UNSET
    retry_delay_seconds: RetryDelay | msgspec.UnsetType | None = msgspec.UNSET
    verify_every: VerifyEvery | msgspec.UnsetType = msgspec.UNSET


class ScheduleOut(Output):
    """A backup schedule. ``nextRunAt`` is in the schedule's zone (null while disabled)."""

    id: str
    database_config_id: str
    database_name: str | None
    schedule_type: ScheduleType
    cron_expression: str
    timezone: str
    enabled: bool
    s3_upload_enabled: bool
    s3_config_id: str | None
    store_locally: bool
    retention_policy_id: str | None
    compression: CompressionName
    retry_count: int | None
    retry_delay_seconds: int | None
    last_fired_at: datetime | None
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime
    verify_every: VerifyEvery = "none"
    """none | each | daily | weekly: how often the latest completed backup is verified."""


class NextRunsOut(Output):
    """GET /api/schedules/:id/next-runs: upcoming fire times, in the schedule's zone."""

    cron_expression: str
    timezone: str
    runs: list[datetime]
