"""The SPEC §6.2 response envelope: every response body of the API is one of these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


def timestamp() -> str:
    """Now as ISO 8601 UTC with a ``Z`` suffix."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Meta(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Response metadata; page, limit and total are present on paginated lists."""

    timestamp: str
    page: int | None = None
    limit: int | None = None
    total: int | None = None


class Envelope(msgspec.Struct, Generic[T], kw_only=True):
    """A successful response: ``{"success": true, "data": ..., "meta": {...}}``."""

    success: bool
    data: T
    meta: Meta


class ErrorBody(msgspec.Struct, kw_only=True):
    """The error object of a failed response."""

    code: str
    message: str
    details: Any = None


class ErrorEnvelope(msgspec.Struct, kw_only=True):
    """A failed response: ``{"success": false, "error": {...}, "meta": {...}}``."""

    success: bool
    error: ErrorBody
    meta: Meta


def ok(data: T) -> Envelope[T]:
    """Wrap `data` in a success envelope."""
    return Envelope(success=True, data=data, meta=Meta(timestamp=timestamp()))


def paged(data: T, *, page: int, limit: int, total: int) -> Envelope[T]:
    """Wrap one page of a list, with its pagination metadata."""
    return Envelope(
        success=True,
        data=data,
        meta=Meta(timestamp=timestamp(), page=page, limit=limit, total=total),
    )


def failure(code: str, message: str, details: Any = None) -> ErrorEnvelope:
    """An error envelope."""
    return ErrorEnvelope(
        success=False,
        error=ErrorBody(code=code, message=message, details=details),
        meta=Meta(timestamp=timestamp()),
    )
