"""The S3 part-size schedule and settings validation (no network)."""

from __future__ import annotations

import itertools

import pytest

from lifeboat.core.errors import S3Error, ValidationError
from lifeboat.storage.s3.multipart import part_size_for
from lifeboat.storage.s3.settings import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    GiB,
    MiB,
    S3Settings,
    TiB,
    encode_meta,
)


def _schedule(base: int) -> list[int]:
    return [part_size_for(n, base) for n in range(1, MAX_PARTS + 1)]


@pytest.mark.parametrize("base", [MIN_PART_SIZE, 8 * MiB, 16 * MiB, 64 * MiB, MAX_PART_SIZE])
def test_ten_thousand_parts_cover_five_tib(base: int) -> None:
    sizes = _schedule(base)
    assert sum(sizes) > 100 * GiB
    assert sum(sizes) >= 5 * TiB


@pytest.mark.parametrize("base", [MIN_PART_SIZE, 16 * MiB])
def test_schedule_starts_at_base_grows_and_stays_within_s3_limits(base: int) -> None:
    sizes = _schedule(base)
    assert sizes[:1000] == [base] * 1000
    assert sizes[1000] == 2 * base
    assert sizes[2000] == 4 * base
    assert all(a <= b for a, b in itertools.pairwise(sizes))
    assert all(MIN_PART_SIZE <= s <= MAX_PART_SIZE for s in sizes)


def test_small_streams_keep_the_base_part_size() -> None:
    # 1,000 parts of 16 MiB: a 15 GiB dump never holds more than 16 MiB per part.
    assert sum(_schedule(16 * MiB)[:1000]) > 15 * GiB


def test_part_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        part_size_for(0, MIN_PART_SIZE)


def _settings(**overrides: object) -> S3Settings:
    values: dict[str, object] = {
        "bucket": "b",
        "access_key_id": "AKID",
        "secret_access_key": "very-secret-value",
        **overrides,
    }
    return S3Settings(**values)  # type: ignore[arg-type]


def test_defaults() -> None:
    s = _settings()
    assert s.part_size_bytes == 16 * MiB
    assert s.concurrency == 4
    assert s.max_attempts == 5
    assert s.checksum_mode == "when_required"
    assert s.addressing_style == "auto"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x",
        "file:///etc/passwd",
        "x",
        "http://",
        "https://user:pw@host",
        "//host",
        "http://host:99999",
        "http://host/?versionId=1",
        "http://host/#fragment",
    ],
)
def test_only_http_endpoints_are_accepted(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        _settings(endpoint_url=url)
    assert any(p["field"] == "endpoint_url" for p in info.value.details)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com", "https://x.r2.dev/"]
)
def test_http_endpoints_are_accepted(url: str) -> None:
    assert _settings(endpoint_url=url).endpoint_url == url


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("part_size_bytes", 5 * MiB - 1),
        ("concurrency", 0),
        ("max_attempts", 0),
        ("addressing_style", "sideways"),
        ("checksum_mode", "always"),
        ("sse", "rot13"),
        ("sse_kms_key_id", "key-without-kms"),
        ("bucket", ""),
        ("secret_access_key", ""),
        ("access_key_id", ""),
        ("region", ""),
        ("retry_base_delay", -1.0),
        ("storage_class", "GLACIER; rm"),
    ],
)
def test_bad_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        _settings(**{field: value})
    assert any(p["field"] == field for p in info.value.details)


def test_repr_hides_the_secret() -> None:
    s = _settings(sse="aws:kms", sse_kms_key_id="k")
    assert "very-secret-value" not in repr(s)
    assert "very-secret-value" not in str(s)
    assert "AKID" in repr(s)
    with pytest.raises(ValidationError) as info:
        _settings(endpoint_url="ftp://x")
    assert "very-secret-value" not in str(info.value)


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValidationError) as info:
        _settings(connect_timeout=0.0)
    assert any(p["field"] == "timeouts" for p in info.value.details)


def test_metadata_names_must_be_header_safe() -> None:
    assert encode_meta({"Database": "caf\u00e9 100%"}) == {"database": "caf%C3%A9 100%25"}
    with pytest.raises(S3Error, match="invalid S3 metadata name"):
        encode_meta({"bad name": "x"})
