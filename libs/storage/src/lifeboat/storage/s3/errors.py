"""S3 failures: reading boto answers, error codes and which failures are worth a retry.

Every request is retried with exponential backoff and full jitter on network errors, throttling
and 5xx answers (see :meth:`~lifeboat.storage.s3.store.S3Store.call`); botocore's own retries
are switched off so there is one retry layer. This module only classifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import aiohttp
from botocore.exceptions import (  # pyright: ignore[reportMissingTypeStubs]
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.exceptions import (  # pyright: ignore[reportMissingTypeStubs]
    ConnectionError as BotoConnectionError,
)

_RETRYABLE_CODES: frozenset[str] = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequests",
        "TooManyRequestsException",
        "PriorRequestNotComplete",
        "BadDigest",
    }
)


def answer_field(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...`` of a boto answer, or None where anything is missing."""
    for name in path:
        if not isinstance(obj, Mapping):
            return None
        obj = cast("Mapping[str, Any]", obj).get(name)
    return obj


def answer_items(obj: Any, name: str) -> list[Any]:
    """The list ``obj[name]`` of a boto answer (empty when absent)."""
    value = answer_field(obj, name)
    return list(cast("list[Any]", value)) if isinstance(value, list) else []


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        code = answer_field(exc.response, "Error", "Code")
        if code:
            return str(code)
        status = answer_field(exc.response, "ResponseMetadata", "HTTPStatusCode")
        return f"HTTP{status}" if status else "ClientError"
    if isinstance(
        exc, HTTPClientError | BotoConnectionError | aiohttp.ClientError | OSError | TimeoutError
    ):
        return "ConnectionError"
    return type(exc).__name__


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, ClientError):
        status = answer_field(exc.response, "ResponseMetadata", "HTTPStatusCode")
        return int(status) if status else None
    return None


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        status = http_status(exc) or 0
        return status >= 500 or status == 429 or error_code(exc) in _RETRYABLE_CODES
    return isinstance(
        exc,
        HTTPClientError
        | BotoConnectionError
        | IncompleteReadError
        | aiohttp.ClientError
        | ConnectionError
        | TimeoutError
        | OSError,
    )


TRANSPORT_ERRORS = (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError)
