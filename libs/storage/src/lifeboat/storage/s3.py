"""S3 artifact storage: streaming multipart uploads, streaming downloads, probes.

Works with any S3-compatible endpoint (AWS, MinIO, R2, B2, Ceph...). A pure library: every
setting comes in through :class:`S3Settings`; nothing here reads the environment.

Upload (:class:`S3Sink`): the pipeline's compressed stream is cut into parts held in memory and
uploaded concurrently; :meth:`S3Sink.write` waits while the in-flight budget is used up, so at
most ``concurrency * part_size`` bytes are in flight plus the part being filled (no temporary
file). A stream shorter than one part becomes a single PutObject. For a stream of unknown length
the part size grows with :func:`part_size_for`, so the 10,000 parts S3 allows reach its 5 TiB
object limit. Every request is retried with exponential backoff and full jitter on network errors,
throttling and 5xx answers; botocore's own retries are switched off so there is one retry layer.

Every boto object is typed ``Any`` and touched only through :class:`S3Store`'s helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets as _secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote, unquote, urlsplit

import aioboto3  # pyright: ignore[reportMissingTypeStubs]
import aiohttp
import msgspec
from aiobotocore.config import AioConfig  # pyright: ignore[reportMissingTypeStubs]
from botocore.exceptions import (  # pyright: ignore[reportMissingTypeStubs]
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
)
from botocore.exceptions import (  # pyright: ignore[reportMissingTypeStubs]
    ConnectionError as BotoConnectionError,
)

from lifeboat.core.errors import S3Error, ValidationError
from lifeboat.core.naming import manifest_name, s3_key
from lifeboat.storage.manifest import Manifest, decode_manifest, encode_manifest
from lifeboat.storage.part_body import PartBody

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
CheckName = Literal["head_bucket", "put_object", "delete_object"]
CheckStatus = Literal["ok", "failed", "skipped"]

_ADDRESSING: frozenset[str] = frozenset({"path", "virtual", "auto"})
_CHECKSUM: frozenset[str] = frozenset({"when_required", "when_supported"})
_SSE: frozenset[str] = frozenset({"AES256", "aws:kms"})
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
# Printable ASCII minus "%": what we leave alone in metadata values (see _encode_meta).
_META_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")

T = TypeVar("T")


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


def part_size_for(part_number: int, base: int) -> int:
    """Size of part `part_number` (1-based) of a stream of unknown length.

    ``base`` for parts 1-1,000, doubled every 1,000 parts after that, at most 5 GiB; the last
    1,000 parts (9,001-10,000) use the 5 GiB maximum so that even a 5 MiB base reaches S3's
    5 TiB object limit within its 10,000 parts.
    """
    if part_number < 1:
        raise ValueError("part numbers start at 1")
    if part_number > MAX_PARTS - PARTS_PER_STEP:
        return MAX_PART_SIZE
    step = (part_number - 1) // PARTS_PER_STEP
    return min(base << step, MAX_PART_SIZE)


def backup_metadata(*, database: str, backup_type: str, started_at: datetime) -> dict[str, str]:
    """The ``x-amz-meta-*`` tags of a backup artifact (the sink adds ``sha256`` itself)."""
    return {
        "database": database,
        "backup-type": backup_type,
        "started-at": started_at.isoformat(),
    }


def _encode_meta(metadata: Mapping[str, str]) -> dict[str, str]:
    # Header values must be ASCII: percent-encode anything else (and "%"), reversibly.
    out: dict[str, str] = {}
    for name, value in metadata.items():
        key = name.lower()
        if not key or not all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
            raise S3Error(f"invalid S3 metadata name {name!r}")
        out[key] = quote(value, safe=_META_SAFE)
    return out


def _decode_meta(metadata: Mapping[str, str]) -> dict[str, str]:
    return {k: unquote(v) for k, v in metadata.items()}


# --------------------------------------------------------------------------- results


class S3ObjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What HeadObject says about an object."""

    key: str
    size: int
    etag: str | None
    last_modified: datetime | None
    storage_class: str | None
    metadata: dict[str, str]


class S3Listed(msgspec.Struct, frozen=True, kw_only=True):
    """One object of a listing (what ListObjectsV2 says about it)."""

    key: str
    size: int
    last_modified: datetime | None
    storage_class: str | None


class S3Upload(msgspec.Struct, frozen=True, kw_only=True):
    """One unfinished multipart upload (what ListMultipartUploads says about it)."""

    key: str
    upload_id: str
    initiated: datetime | None


class AccessCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One step of :meth:`S3Store.test_access`."""

    name: CheckName
    status: CheckStatus
    error_code: str | None = None
    message: str | None = None


class AccessReport(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of :meth:`S3Store.test_access`: ``ok`` only when every check passed."""

    ok: bool
    checks: list[AccessCheck]

    def failed(self) -> list[AccessCheck]:
        """The checks that did not pass (failed or skipped)."""
        return [c for c in self.checks if c.status != "ok"]


# --------------------------------------------------------------------------- errors


def _get(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...`` of a boto answer, or None where anything is missing."""
    for name in path:
        if not isinstance(obj, Mapping):
            return None
        obj = cast("Mapping[str, Any]", obj).get(name)
    return obj


def _items(obj: Any, name: str) -> list[Any]:
    """The list ``obj[name]`` of a boto answer (empty when absent)."""
    value = _get(obj, name)
    return list(cast("list[Any]", value)) if isinstance(value, list) else []


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        code = _get(exc.response, "Error", "Code")
        if code:
            return str(code)
        status = _get(exc.response, "ResponseMetadata", "HTTPStatusCode")
        return f"HTTP{status}" if status else "ClientError"
    if isinstance(
        exc, HTTPClientError | BotoConnectionError | aiohttp.ClientError | OSError | TimeoutError
    ):
        return "ConnectionError"
    return type(exc).__name__


def _http_status(exc: BaseException) -> int | None:
    if isinstance(exc, ClientError):
        status = _get(exc.response, "ResponseMetadata", "HTTPStatusCode")
        return int(status) if status else None
    return None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        status = _http_status(exc) or 0
        return status >= 500 or status == 429 or _error_code(exc) in _RETRYABLE_CODES
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


_TRANSPORT_ERRORS = (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError)


# --------------------------------------------------------------------------- store


class S3Store:
    """One bucket, one connection pool; use as ``async with S3Store(settings) as store``."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.retry_count = 0
        """How many requests were retried since this store was created (for logs and tests)."""
        self._stack: AsyncExitStack | None = None
        self._client_obj: Any = None
        self._open_lock = asyncio.Lock()

    async def __aenter__(self) -> S3Store:
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
        code = _error_code(exc)
        details: dict[str, Any] = {
            "operation": operation,
            "code": code,
            "bucket": self.settings.bucket,
        }
        if key:
            details["key"] = key
        status = _http_status(exc)
        if status is not None:
            details["status"] = status
        if isinstance(exc, ClientError):
            text = str(_get(exc.response, "Error", "Message") or "")
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
            except _TRANSPORT_ERRORS as exc:
                if attempt >= attempts or not _retryable(exc):
                    error = self.to_error(operation, key, exc)
                    if attempt > 1:
                        error.message += f" (after {attempt} attempts)"
                        error.args = (error.message,)
                    raise error from None
                self.retry_count += 1
                await self._backoff(attempt)

    # -- keys ------------------------------------------------------------------------------

    def key_for(self, *, database: str, started_at: datetime, file_name: str) -> str:
        """The object key of an artifact (SPEC §5.6.4) under this store's ``path_prefix``."""
        return s3_key(
            prefix=self.settings.path_prefix,
            database=database,
            started_at=started_at,
            file_name=file_name,
        )

    @staticmethod
    def manifest_key(key: str) -> str:
        """The sidecar manifest key beside artifact `key`."""
        head, _, name = key.rpartition("/")
        return f"{head}/{manifest_name(name)}" if head else manifest_name(name)

    def _sse_params(self) -> dict[str, str]:
        s = self.settings
        params: dict[str, str] = {}
        if s.sse is not None:
            params["ServerSideEncryption"] = s.sse
            if s.sse_kms_key_id:
                params["SSEKMSKeyId"] = s.sse_kms_key_id
        return params

    def object_params(self, *, with_storage_class: bool = True) -> dict[str, str]:
        """Storage class and SSE request parameters for new objects."""
        params = self._sse_params()
        if with_storage_class and self.settings.storage_class:
            params["StorageClass"] = self.settings.storage_class
        return params

    # -- objects ---------------------------------------------------------------------------

    async def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        storage_class: bool = False,
    ) -> None:
        """Store a small object in one PutObject (e.g. a manifest sidecar).

        SSE settings apply; the storage class only if `storage_class` is true, so manifests
        stay readable (STANDARD) even when artifacts go to an archive class.
        """
        params: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "Metadata": _encode_meta(metadata or {}),
            **self.object_params(with_storage_class=storage_class),
        }

        async def put(client: Any) -> None:
            await client.put_object(**params)

        await self.call("PutObject", key, put)

    async def get_bytes(self, key: str, *, max_bytes: int = 16 * MiB) -> bytes:
        """A small object's content (refused above `max_bytes`)."""
        out = bytearray()
        async for chunk in self.stream(key):
            out += chunk
            if len(out) > max_bytes:
                raise S3Error(f"{self.location(key)} is larger than {max_bytes} bytes")
        return bytes(out)

    async def put_manifest(self, key: str, manifest: Manifest) -> str:
        """Write the sidecar of artifact `key`; returns the manifest's key."""
        mkey = self.manifest_key(key)
        await self.put_bytes(mkey, encode_manifest(manifest), content_type="application/json")
        return mkey

    async def read_manifest(self, manifest_key: str) -> Manifest:
        """Fetch and parse a ``*.manifest.json`` object.

        Raises:
            S3Error: missing, unreadable or not a manifest.
        """
        raw = await self.get_bytes(manifest_key, max_bytes=1 * MiB)
        try:
            return decode_manifest(raw)
        except msgspec.DecodeError as exc:
            raise S3Error(
                f"{self.location(manifest_key)} is not a Lifeboat manifest: {exc}"
            ) from None

    def open_sink(
        self,
        key: str,
        metadata: Mapping[str, str] | None = None,
        *,
        guard: Callable[[], Awaitable[None]] | None = None,
    ) -> S3Sink:
        """A :class:`S3Sink` uploading to `key`, tagged with `metadata` (``x-amz-meta-*``);
        `guard` runs right before the object is made visible (raising stops the commit)."""
        if not key or key.startswith("/"):
            raise S3Error(f"invalid S3 key {key!r}")
        return S3Sink(self, key, metadata or {}, guard=guard)

    async def stream(self, key: str, *, chunk_size: int = DOWNLOAD_CHUNK) -> AsyncIterator[bytes]:
        """The object's bytes in chunks of at most `chunk_size`, streamed (restore, download).

        A connection lost mid-way resumes with a ranged GET pinned to the object's ETag, so a
        changed object is never spliced; after ``max_attempts`` failures in a row it raises.

        Raises:
            S3Error: missing object, access denied, object changed, or too many failures.
        """
        offset = 0
        etag: str | None = None
        failures = 0
        while True:
            params: dict[str, Any] = {"Bucket": self.settings.bucket, "Key": key}
            if offset:
                params["Range"] = f"bytes={offset}-"
            if etag:
                params["IfMatch"] = etag

            async def get(client: Any, params: dict[str, Any] = params) -> Any:
                return await client.get_object(**params)

            response: Any = await self.call("GetObject", key, get)
            etag = etag or response.get("ETag")
            body: Any = response["Body"]
            try:
                while True:
                    try:
                        chunk: bytes = await body.read(chunk_size)
                    except _TRANSPORT_ERRORS as exc:
                        failures += 1
                        if failures >= self.settings.max_attempts or not _retryable(exc):
                            raise self.to_error("GetObject", key, exc) from None
                        self.retry_count += 1
                        await self._backoff(failures)
                        break  # resume from `offset`
                    if not chunk:
                        return
                    failures = 0
                    offset += len(chunk)
                    yield chunk
            finally:
                with contextlib.suppress(Exception):
                    body.close()

    async def head(self, key: str) -> S3ObjectInfo | None:
        """The object's size, ETag, storage class and decoded metadata; None if it is missing."""

        async def head(client: Any) -> Any:
            try:
                return await client.head_object(Bucket=self.settings.bucket, Key=key)
            except ClientError as exc:
                if _http_status(exc) == 404 or _error_code(exc) in {"NoSuchKey", "NotFound"}:
                    return None
                raise

        response: Any = await self.call("HeadObject", key, head)
        if response is None:
            return None
        return S3ObjectInfo(
            key=key,
            size=int(response.get("ContentLength", 0)),
            etag=response.get("ETag"),
            last_modified=response.get("LastModified"),
            storage_class=response.get("StorageClass"),
            metadata=_decode_meta(_get(response, "Metadata") or {}),
        )

    async def delete(self, key: str) -> bool:
        """Delete an artifact and its manifest sidecar; returns whether the artifact existed."""
        existed = await self.head(key) is not None
        for target in (key, self.manifest_key(key)):

            async def delete(client: Any, target: str = target) -> None:
                await client.delete_object(Bucket=self.settings.bucket, Key=target)

            await self.call("DeleteObject", target, delete)
        return existed

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        """Every key under `prefix` (ListObjectsV2, paginated)."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.settings.bucket, "Prefix": prefix}
            if token:
                params["ContinuationToken"] = token

            async def page(client: Any, params: dict[str, Any] = params) -> Any:
                return await client.list_objects_v2(**params)

            response: Any = await self.call("ListObjectsV2", prefix or None, page)
            for item in _items(response, "Contents"):
                yield str(item["Key"])
            token = response.get("NextContinuationToken")
            if not response.get("IsTruncated") or not token:
                return

    async def list_page(
        self, prefix: str, *, start_after: str | None = None, max_keys: int = 1000
    ) -> tuple[list[S3Listed], bool]:
        """One ListObjectsV2 page of the objects under `prefix` after key `start_after`, in
        key order, and whether more follow."""
        params: dict[str, Any] = {
            "Bucket": self.settings.bucket,
            "Prefix": prefix,
            "MaxKeys": max_keys,
        }
        if start_after:
            params["StartAfter"] = start_after

        async def page(client: Any) -> Any:
            return await client.list_objects_v2(**params)

        response: Any = await self.call("ListObjectsV2", prefix or None, page)
        listed = [
            S3Listed(
                key=str(item["Key"]),
                size=int(item.get("Size", 0)),
                last_modified=item.get("LastModified"),
                storage_class=item.get("StorageClass"),
            )
            for item in _items(response, "Contents")
        ]
        return listed, bool(response.get("IsTruncated"))

    async def list_manifests(self, prefix: str | None = None) -> list[str]:
        """Keys of every ``*.manifest.json`` under `prefix` (default: the store's path prefix).

        Used to import the history of an existing bucket.
        """
        if prefix is None:
            prefix = self.settings.path_prefix.strip("/")
            prefix = f"{prefix}/" if prefix else ""
        suffix = manifest_name("")
        return [k async for k in self.list_keys(prefix) if k.endswith(suffix)]

    async def list_multipart_uploads(self, prefix: str = "") -> list[tuple[str, str]]:
        """``(key, upload id)`` of unfinished multipart uploads under `prefix`."""
        return [(u.key, u.upload_id) for u in await self.list_incomplete_uploads(prefix)]

    async def list_buckets(self) -> list[str]:
        """Names of the buckets these credentials can list."""

        async def names(client: Any) -> Any:
            return await client.list_buckets()

        response: Any = await self.call("ListBuckets", None, names)
        return [str(b["Name"]) for b in _items(response, "Buckets")]

    async def test_access(self) -> AccessReport:
        """Check HeadBucket, then put and delete a small probe object under the path prefix.

        Never raises for S3 answers: each step's failure is reported with its S3 error code.
        """
        bucket = self.settings.bucket
        checks: list[AccessCheck] = []

        async def step(name: CheckName, op: str, key: str | None, request: Any) -> bool:
            try:
                await self.call(op, key, request, retry=False)
            except S3Error as exc:
                code = str(_get(exc.details, "code") or "Error")
                checks.append(
                    AccessCheck(name=name, status="failed", error_code=code, message=exc.message)
                )
                return False
            checks.append(AccessCheck(name=name, status="ok"))
            return True

        prefix = self.settings.path_prefix.strip("/")
        probe = f"{prefix + '/' if prefix else ''}.lifeboat-probe-{_secrets.token_hex(6)}"

        async def head_bucket(client: Any) -> None:
            await client.head_bucket(Bucket=bucket)

        async def put(client: Any) -> None:
            await client.put_object(
                Bucket=bucket, Key=probe, Body=b"lifeboat access probe\n", **self._sse_params()
            )

        async def delete(client: Any) -> None:
            await client.delete_object(Bucket=bucket, Key=probe)

        await step("head_bucket", "HeadBucket", None, head_bucket)
        if await step("put_object", "PutObject", probe, put):
            await step("delete_object", "DeleteObject", probe, delete)
        else:
            checks.append(
                AccessCheck(
                    name="delete_object",
                    status="skipped",
                    message="not tried: the probe object could not be written",
                )
            )
        return AccessReport(ok=all(c.status == "ok" for c in checks), checks=checks)

    # -- unfinished uploads ----------------------------------------------------------------

    def prefix_root(self) -> str:
        """The store's path prefix as a listing prefix (``""`` or ``"<prefix>/"``)."""
        prefix = self.settings.path_prefix.strip("/")
        return f"{prefix}/" if prefix else ""

    async def list_incomplete_uploads(self, prefix: str | None = None) -> list[S3Upload]:
        """Every unfinished multipart upload under `prefix` (default: the store's path
        prefix), with when it was initiated (paginated ListMultipartUploads)."""
        if prefix is None:
            prefix = self.prefix_root()
        found: list[S3Upload] = []
        key_marker: str | None = None
        id_marker: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.settings.bucket, "Prefix": prefix}
            if key_marker:
                params["KeyMarker"] = key_marker
            if id_marker:
                params["UploadIdMarker"] = id_marker

            async def page(client: Any, params: dict[str, Any] = params) -> Any:
                return await client.list_multipart_uploads(**params)

            response: Any = await self.call("ListMultipartUploads", prefix or None, page)
            found.extend(
                S3Upload(
                    key=str(u["Key"]),
                    upload_id=str(u["UploadId"]),
                    initiated=u.get("Initiated"),
                )
                for u in _items(response, "Uploads")
            )
            key_marker = response.get("NextKeyMarker")
            id_marker = response.get("NextUploadIdMarker")
            if not response.get("IsTruncated") or (not key_marker and not id_marker):
                return found

    async def abort_multipart(self, key: str, upload_id: str) -> bool:
        """Abort the multipart upload `upload_id` of `key`, freeing its parts.

        Returns:
            False when S3 no longer knows the upload (completed or aborted meanwhile).
        """
        bucket = self.settings.bucket

        async def abort(client: Any) -> bool:
            try:
                await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except ClientError as exc:
                if _error_code(exc) == "NoSuchUpload":
                    return False
                raise
            return True

        return await self.call("AbortMultipartUpload", key, abort)


# --------------------------------------------------------------------------- sink


SinkState = Literal["open", "committed", "failed", "aborted"]


class S3Sink:
    """A streaming upload of one object; implements the pipeline's ``Sink`` protocol.

    Not safe for concurrent :meth:`write` calls (the pipeline writes sequentially).
    """

    def __init__(
        self,
        store: S3Store,
        key: str,
        metadata: Mapping[str, str],
        *,
        guard: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self._guard = guard
        self.warnings: list[str] = []
        """Things that went wrong without failing the upload (e.g. sha256 tagging refused)."""
        self._meta = _encode_meta(metadata)
        s = store.settings
        self._base = s.part_size_bytes
        self._budget = s.concurrency * s.part_size_bytes
        self._buffer = bytearray()
        self._target = part_size_for(1, self._base)
        self._parts_cut = 0
        self._upload_id: str | None = None
        self._etags: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight = 0
        self._inflight_bytes = 0
        self._cond = asyncio.Condition()
        self._error: S3Error | None = None
        self._written = 0
        self._uploaded = 0
        self._object_written = False
        self._state: SinkState = "open"

    # -- progress --------------------------------------------------------------------------

    @property
    def state(self) -> SinkState:
        """``open``, ``committed``, ``failed`` or ``aborted``."""
        return self._state

    @property
    def upload_id(self) -> str | None:
        """The multipart upload id, once one was created."""
        return self._upload_id

    @property
    def uploaded_bytes(self) -> int:
        """Bytes S3 has acknowledged so far (parts completed)."""
        return self._uploaded

    @property
    def held_bytes(self) -> int:
        """Bytes held in memory now: parts in flight plus the part being filled."""
        return self._inflight_bytes + len(self._buffer)

    # -- Sink protocol ---------------------------------------------------------------------

    async def write(self, chunk: bytes) -> None:
        """Buffer `chunk`; start a part upload each time a part is full (waits when busy).

        Raises:
            S3Error: an earlier part failed for good, or the sink is closed.
        """
        self._check_open()
        view = memoryview(chunk)
        try:
            while view:
                if len(self._buffer) >= self._target:
                    await self._start_part()
                room = self._target - len(self._buffer)
                piece = view[:room]
                self._buffer += piece
                view = view[len(piece) :]
                self._written += len(piece)
        finally:
            view.release()

    async def commit(self, *, size: int, sha256: str) -> None:
        """Finish the upload, then confirm with HeadObject that the object holds `size` bytes.

        Raises:
            S3Error: a part or the completion failed, or the size does not match. The sink is
                then ``failed``; :meth:`abort` removes whatever was uploaded.
        """
        if self._state != "open":
            raise S3Error(f"upload to {self.store.location(self.key)} is {self._state}")
        try:
            if self._error is not None:
                raise self._error
            if self._written != size:
                raise S3Error(
                    f"upload to {self.store.location(self.key)}: {self._written} bytes written,"
                    f" {size} expected"
                )
            if self._upload_id is None:
                if self._guard is not None:
                    await self._guard()
                await self._put_single(sha256)
            else:
                if self._buffer:
                    await self._start_part()
                await self._drain()
                if self._guard is not None:
                    # Right before the object becomes visible: a fenced attempt stops here.
                    await self._guard()
                await self._complete()
                await self._tag_sha256(sha256)
            await self._verify(size)
        except BaseException:
            self._state = "failed"
            raise
        self._state = "committed"

    async def abort(self) -> None:
        """Stop part uploads, abort the multipart upload (no orphan parts), delete a finished
        object. Never raises; a failure is recorded in :attr:`warnings`."""
        if self._state == "aborted":
            return
        self._state = "aborted"
        self._buffer = bytearray()
        for task in self._tasks:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        try:
            if self._object_written:
                await self.store.call(
                    "DeleteObject",
                    self.key,
                    lambda client: client.delete_object(
                        Bucket=self.store.settings.bucket, Key=self.key
                    ),
                )
            elif self._upload_id is not None:
                await self._abort_upload(self._upload_id)
        except S3Error as exc:
            self.warnings.append(exc.message)

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state != "open":
            raise S3Error(f"upload to {self.store.location(self.key)} is {self._state}")
        if self._error is not None:
            raise self._error

    def _create_params(self) -> dict[str, Any]:
        return {
            "Bucket": self.store.settings.bucket,
            "Key": self.key,
            "ContentType": "application/octet-stream",
            **self.store.object_params(),
        }

    async def _start_part(self) -> None:
        data, self._buffer = self._buffer, bytearray()
        self._parts_cut += 1
        number = self._parts_cut
        if number > MAX_PARTS:
            raise S3Error(f"upload to {self.store.location(self.key)} exceeds {MAX_PARTS} parts")
        self._target = part_size_for(number + 1, self._base)
        await self._reserve(len(data))
        try:
            if self._upload_id is None:
                await self._create()
        except BaseException:
            await self._release(len(data))
            raise
        task = asyncio.create_task(self._upload_part(number, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reserve(self, size: int) -> None:
        async with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if self._inflight == 0 or (
                    self._inflight < self.store.settings.concurrency
                    and self._inflight_bytes + size <= self._budget
                ):
                    break
                await self._cond.wait()
            self._inflight += 1
            self._inflight_bytes += size

    async def _release(self, size: int) -> None:
        async with self._cond:
            self._inflight -= 1
            self._inflight_bytes -= size
            self._cond.notify_all()

    async def _create(self) -> None:
        await self.abort_leftovers()
        params = {**self._create_params(), "Metadata": self._meta}

        async def create(client: Any) -> Any:
            return await client.create_multipart_upload(**params)

        response: Any = await self.store.call("CreateMultipartUpload", self.key, create)
        upload_id = response.get("UploadId")
        if not upload_id:
            raise S3Error(f"S3 gave no upload id for {self.store.location(self.key)}")
        self._upload_id = str(upload_id)

    async def abort_leftovers(self) -> None:
        """Abort unfinished multipart uploads of this key (never raises; see warnings)."""
        # A key names one backup, so an unfinished upload of the same key is an earlier
        # attempt whose abort could not reach S3 (an outage): its parts cost storage forever
        # unless aborted, and retrying the copy is the first chance to do it.
        try:
            uploads = await self.store.list_multipart_uploads(self.key)
        except S3Error as exc:
            self.warnings.append(f"earlier unfinished uploads not checked: {exc.message}")
            return
        for key, upload_id in uploads:
            if key != self.key:
                continue
            try:
                await self._abort_upload(upload_id)
            except S3Error as exc:
                self.warnings.append(f"earlier unfinished upload not aborted: {exc.message}")
            else:
                self.warnings.append(
                    f"aborted an earlier unfinished upload of this key ({upload_id})"
                )

    async def _upload_part(self, number: int, data: bytearray) -> None:
        size = len(data)
        upload_id = self._upload_id
        assert upload_id is not None
        try:

            async def upload(client: Any) -> Any:
                return await client.upload_part(
                    Bucket=self.store.settings.bucket,
                    Key=self.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=PartBody(data),
                    ContentLength=size,
                )

            response: Any = await self.store.call("UploadPart", self.key, upload)
            etag = response.get("ETag")
            if not etag:
                raise S3Error(
                    f"S3 gave no ETag for part {number} of {self.store.location(self.key)}"
                )
            self._etags[number] = str(etag)
            self._uploaded += size
        except S3Error as exc:
            if self._error is None:
                exc.message = f"{exc.message} (part {number})"
                exc.args = (exc.message,)
                self._error = exc
        finally:
            await self._release(size)

    async def _drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._error is not None:
            raise self._error

    async def _complete(self) -> None:
        upload_id = self._upload_id
        assert upload_id is not None
        numbers = sorted(self._etags)
        if numbers != list(range(1, self._parts_cut + 1)):
            raise S3Error(f"upload to {self.store.location(self.key)} is missing parts")
        parts = [{"PartNumber": n, "ETag": self._etags[n]} for n in numbers]
        bucket = self.store.settings.bucket
        attempts = 0

        async def complete(client: Any) -> Any:
            nonlocal attempts
            attempts += 1
            try:
                return await client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self.key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except ClientError as exc:
                # A retry after a lost answer: the first attempt may have completed it.
                if _error_code(exc) == "NoSuchUpload" and attempts > 1:
                    head = await client.head_object(Bucket=bucket, Key=self.key)
                    return {"ETag": head.get("ETag"), "_recovered": True}
                raise

        response: Any = await self.store.call("CompleteMultipartUpload", self.key, complete)
        # botocore turns most "200 OK with an <Error> body" answers into errors; anything
        # else without an ETag or Location is not a completed object either.
        if not (_get(response, "ETag") or _get(response, "Location")):
            raise S3Error(
                f"S3 CompleteMultipartUpload of {self.store.location(self.key)} answered without"
                " an ETag: the upload did not complete"
            )
        self._object_written = True

    async def _put_single(self, sha256: str) -> None:
        data, self._buffer = self._buffer, bytearray()
        params = {
            **self._create_params(),
            "ContentLength": len(data),
            "Metadata": {**self._meta, "sha256": sha256},
        }

        async def put(client: Any) -> Any:
            return await client.put_object(Body=PartBody(data), **params)

        response: Any = await self.store.call("PutObject", self.key, put)
        self._object_written = True
        if not response.get("ETag"):
            raise S3Error(
                f"S3 PutObject of {self.store.location(self.key)} answered without an ETag"
            )
        self._uploaded = len(data)

    async def _tag_sha256(self, sha256: str) -> None:
        # A multipart upload's metadata is fixed before the checksum is known; an object tag
        # can be added afterwards without copying data. Best effort: some S3-compatible
        # services have no tagging, and the manifest sidecar carries the sha256 anyway.
        async def tag(client: Any) -> None:
            await client.put_object_tagging(
                Bucket=self.store.settings.bucket,
                Key=self.key,
                Tagging={"TagSet": [{"Key": "sha256", "Value": sha256}]},
            )

        try:
            await self.store.call("PutObjectTagging", self.key, tag)
        except S3Error as exc:
            self.warnings.append(f"sha256 tag not stored: {exc.message}")

    async def _verify(self, size: int) -> None:
        info = await self.store.head(self.key)
        if info is None:
            raise S3Error(f"{self.store.location(self.key)} is missing after the upload")
        if info.size != size:
            raise S3Error(
                f"{self.store.location(self.key)} holds {info.size} bytes after the upload,"
                f" {size} expected"
            )

    async def _abort_upload(self, upload_id: str) -> None:
        bucket = self.store.settings.bucket

        async def abort(client: Any) -> None:
            try:
                await client.abort_multipart_upload(Bucket=bucket, Key=self.key, UploadId=upload_id)
            except ClientError as exc:
                if _error_code(exc) != "NoSuchUpload":
                    raise

        async def leftover(client: Any) -> bool:
            try:
                response = await client.list_parts(Bucket=bucket, Key=self.key, UploadId=upload_id)
            except ClientError as exc:
                if _error_code(exc) == "NoSuchUpload":
                    return False
                raise
            return bool(response.get("Parts"))

        # S3 may still land a part that was in flight when we aborted: abort until none is left.
        for _ in range(3):
            await self.store.call("AbortMultipartUpload", self.key, abort)
            if not await self.store.call("ListParts", self.key, leftover):
                return
