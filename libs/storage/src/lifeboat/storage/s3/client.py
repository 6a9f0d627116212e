"""The S3 connection: :class:`S3Client`, one bucket's connection pool, every request with
retries, and failures turned into clear, secret-free :class:`~lifeboat.core.errors.S3Error`.

Every boto object is typed ``Any`` and touched only through :meth:`S3Client.call`; what the
requests mean (objects, listings, manifests) is :class:`~lifeboat.storage.s3.store.S3Store`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Self, TypeVar

import aioboto3  # pyright: ignore[reportMissingTypeStubs]
from aiobotocore.config import AioConfig  # pyright: ignore[reportMissingTypeStubs]
from botocore.exceptions import ClientError  # pyright: ignore[reportMissingTypeStubs]

from lifeboat.core.errors import S3Error
from lifeboat.storage.s3.errors import (
    TRANSPORT_ERRORS,
    answer_field,
    error_code,
    http_status,
    retryable,
)
from lifeboat.storage.s3.settings import S3Settings

T = TypeVar("T")


class S3Client:
    """One bucket, one connection pool; use as ``async with`` (see :class:`S3Store`)."""

    """One bucket, one connection pool; use as ``async with S3Store(settings) as store``."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.retry_count = 0
        """How many requests were retried since this store was created (for logs and tests)."""
        self._stack: AsyncExitStack | None = None
        self._client_obj: Any = None
        self._open_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        await self._client()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (the store can be opened again by using it)."""
        stack, self._stack, self._client_obj = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()

    # -- the boto boundary ---------------------------------------------------------------

    async def _client(self) -> Any:
        if self._client_obj is not None:
            return self._client_obj
        async with self._open_lock:
            if self._client_obj is None:
                s = self.settings
                config: Any = AioConfig(
                    region_name=s.region,
                    signature_version="s3v4",
                    s3={"addressing_style": s.addressing_style},
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    max_pool_connections=max(10, s.concurrency + 2),
                    connect_timeout=s.connect_timeout,
                    read_timeout=s.read_timeout,
                    request_checksum_calculation=s.checksum_mode,
                    response_checksum_validation=s.checksum_mode,
                    ignore_configured_endpoint_urls=True,
                )
                session: Any = aioboto3.Session(
                    aws_access_key_id=s.access_key_id,
                    aws_secret_access_key=s.secret_access_key,
                    region_name=s.region,
                )
                stack = AsyncExitStack()
                try:
                    client: Any = await stack.enter_async_context(
                        session.client("s3", endpoint_url=s.endpoint_url, config=config)
                    )
                except Exception as exc:
                    await stack.aclose()
                    raise S3Error(f"cannot create the S3 client: {self._scrub(str(exc))}") from None
                self._stack, self._client_obj = stack, client
        return self._client_obj

    def _scrub(self, text: str) -> str:
        secret = self.settings.secret_access_key
        return text.replace(secret, "***") if secret else text

    def location(self, key: str | None) -> str:
        """``s3://bucket/key`` (or the bucket) for messages."""
        return f"s3://{self.settings.bucket}/{key}" if key else f"bucket {self.settings.bucket}"

    def to_error(self, operation: str, key: str | None, exc: BaseException) -> S3Error:
        """An :class:`S3Error` with a clear, secret-free message for a failed request."""
        code = error_code(exc)
        details: dict[str, Any] = {
            "operation": operation,
            "code": code,
            "bucket": self.settings.bucket,
        }
        if key:
            details["key"] = key
        status = http_status(exc)
        if status is not None:
            details["status"] = status
        if isinstance(exc, ClientError):
            text = str(answer_field(exc.response, "Error", "Message") or "")
            reason = f"{code}: {text}" if text else code
        elif code == "ConnectionError":
            endpoint = self.settings.endpoint_url or f"AWS S3 ({self.settings.region})"
            reason = f"cannot reach {endpoint} ({type(exc).__name__}: {exc})"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        return S3Error(
            self._scrub(f"S3 {operation} of {self.location(key)} failed: {reason}"),
            details=details,
        )

    async def _backoff(self, attempt: int) -> None:
        s = self.settings
        cap = min(s.retry_max_delay, s.retry_base_delay * (2 ** (attempt - 1)))
        await asyncio.sleep(random.uniform(0, cap))  # noqa: S311 - jitter, not crypto

    async def call(
        self,
        operation: str,
        key: str | None,
        request: Callable[[Any], Awaitable[T]],
        *,
        retry: bool = True,
    ) -> T:
        """Run ``request(client)`` with retries; failures become :class:`S3Error`."""
        attempts = self.settings.max_attempts if retry else 1
        attempt = 0
        while True:
            attempt += 1
            try:
                client = await self._client()
                return await request(client)
            except TRANSPORT_ERRORS as exc:
                if attempt >= attempts or not retryable(exc):
                    error = self.to_error(operation, key, exc)
                    if attempt > 1:
                        error.message += f" (after {attempt} attempts)"
                        error.args = (error.message,)
                    raise error from None
                self.retry_count += 1
                await self._backoff(attempt)
