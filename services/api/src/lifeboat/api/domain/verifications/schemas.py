"""DTOs of the verification endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from lifeboat.api.domain.common import ExecutionStatus, Id, Input, LogOut, Output

VerificationStatus = Literal["unverified", "running", "verified", "failed"]
"""A backup's verification state: never verified (or cannot be), being verified, the latest
verification matched, the latest verification failed."""


VerifyEvery = Literal["none", "each", "daily", "weekly"]
"""How often a schedule verifies its latest completed backup (``none``: never by itself)."""


class VerificationTargetIn(Input):
    """Body of PUT /api/databases/:id/verification-target."""

    verification_database_id: Id | None
    """A configuration of the same engine whose server verifications restore into (its user
    needs the right to create databases); null: the database's own server."""


class VerificationOut(Output):
    """One verification run."""

    id: str
    backup_id: str
    database_config_id: str
    status: ExecutionStatus
    scratch_database: str
    queue: str
    attempt: int
    executor_id: str | None
    progress_bytes: int
    started_at: datetime
    completed_at: datetime | None
    duration_seconds: int | None
    summary: str | None
    """``verified 2026-12-02: 42 tables, 1,234,567 rows, 38 s`` once it passed."""
    error_message: str | None
    """Why it failed: a failed restore, or the first differences."""
    mismatches: list[str]
    """Every difference found between the restored database and the backup's census."""
    initiated_by: str | None


class VerificationDetailOut(VerificationOut, kw_only=True):
    """A verification run with its log."""

    logs: list[LogOut]
