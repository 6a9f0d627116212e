"""S3 settings: :class:`S3Settings` and its validation, size units, part limits, metadata.

A pure library: every setting comes in through :class:`S3Settings`; nothing here reads the
environment. Also owns the encoding of ``x-amz-meta-*`` values (headers must be ASCII).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

import msgspec

from lifeboat.core.errors import S3Error, ValidationError

MiB = 1024 * 1024
GiB = 1024 * MiB
TiB = 1024 * GiB

MIN_PART_SIZE = 5 * MiB
"""S3's smallest part (all but the last)."""
MAX_PART_SIZE = 5 * GiB
"""S3's largest part."""
MAX_PARTS = 10_000
"""S3's largest part number."""
PARTS_PER_STEP = 1_000
"""The part size doubles every this many parts."""
DOWNLOAD_CHUNK = 1 * MiB

AddressingStyle = Literal["path", "virtual", "auto"]
ChecksumMode = Literal["when_required", "when_supported"]
ServerSideEncryption = Literal["AES256", "aws:kms"]

_ADDRESSING: frozenset[str] = frozenset({"path", "virtual", "auto"})
_CHECKSUM: frozenset[str] = frozenset({"when_required", "when_supported"})
_SSE: frozenset[str] = frozenset({"AES256", "aws:kms"})
# Printable ASCII minus "%": what we leave alone in metadata values (see encode_meta).
_META_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


# --------------------------------------------------------------------------- settings


class S3Settings(msgspec.Struct, frozen=True, kw_only=True):
    """One S3 (or S3-compatible) destination; validated on construction.

    Raises:
        ValidationError: with ``details`` listing ``{"field", "message"}`` problems.
    """

    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    path_prefix: str = ""
    addressing_style: AddressingStyle = "auto"
    part_size_bytes: int = 16 * MiB
    concurrency: int = 4
    max_attempts: int = 5
    retry_base_delay: float = 0.5
    retry_max_delay: float = 20.0
    storage_class: str | None = None
    sse: ServerSideEncryption | None = None
    sse_kms_key_id: str | None = None
    checksum_mode: ChecksumMode = "when_required"
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        problems = _settings_problems(self)
        if problems:
            summary = "; ".join(f"{p['field']} {p['message']}" for p in problems)
            raise ValidationError(f"invalid S3 settings: {summary}", details=problems)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'***' if name == 'secret_access_key' else repr(getattr(self, name))}"
            for name in self.__struct_fields__
        )
        return f"S3Settings({shown})"

    __str__ = __repr__


def _settings_problems(s: S3Settings) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    if s.endpoint_url is not None:
        try:
            parts = urlsplit(s.endpoint_url)
            port = parts.port
        except ValueError:
            parts, port = None, None
        del port
        if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
            bad("endpoint_url", "must be an http:// or https:// URL")
        elif parts.username is not None or parts.password is not None:
            bad("endpoint_url", "must not contain credentials")
        elif parts.query or parts.fragment:
            bad("endpoint_url", "must not contain a query or fragment")
    if not s.bucket or "/" in s.bucket or s.bucket.strip() != s.bucket:
        bad("bucket", "must be a bucket name")
    if not s.access_key_id:
        bad("access_key_id", "is required")
    if not s.secret_access_key:
        bad("secret_access_key", "is required")
    if not s.region:
        bad("region", "is required")
    if s.addressing_style not in _ADDRESSING:
        bad("addressing_style", "must be path, virtual or auto")
    if not MIN_PART_SIZE <= s.part_size_bytes <= MAX_PART_SIZE:
        bad("part_size_bytes", f"must be between {MIN_PART_SIZE} and {MAX_PART_SIZE}")
    if not 1 <= s.concurrency <= 64:
        bad("concurrency", "must be between 1 and 64")
    if not 1 <= s.max_attempts <= 20:
        bad("max_attempts", "must be between 1 and 20")
    if s.retry_base_delay < 0 or s.retry_max_delay < s.retry_base_delay:
        bad("retry_base_delay", "must be >= 0 and <= retry_max_delay")
    if s.sse is not None and s.sse not in _SSE:
        bad("sse", "must be AES256 or aws:kms")
    if s.sse_kms_key_id is not None and s.sse != "aws:kms":
        bad("sse_kms_key_id", "is only used with sse=aws:kms")
    if s.checksum_mode not in _CHECKSUM:
        bad("checksum_mode", "must be when_required or when_supported")
    if s.connect_timeout <= 0 or s.read_timeout <= 0:
        bad("timeouts", "must be positive")
    if s.storage_class is not None and not s.storage_class.replace("_", "").isalnum():
        bad("storage_class", "must be an S3 storage class name")
    return problems


def backup_metadata(*, database: str, backup_type: str, started_at: datetime) -> dict[str, str]:
    """The ``x-amz-meta-*`` tags of a backup artifact (the sink adds ``sha256`` itself)."""
    return {
        "database": database,
        "backup-type": backup_type,
        "started-at": started_at.isoformat(),
    }


def encode_meta(metadata: Mapping[str, str]) -> dict[str, str]:
    # Header values must be ASCII: percent-encode anything else (and "%"), reversibly.
    out: dict[str, str] = {}
    for name, value in metadata.items():
        key = name.lower()
        if not key or not all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
            raise S3Error(f"invalid S3 metadata name {name!r}")
        out[key] = quote(value, safe=_META_SAFE)
    return out


def decode_meta(metadata: Mapping[str, str]) -> dict[str, str]:
    return {k: unquote(v) for k, v in metadata.items()}


# --------------------------------------------------------------------------- results
