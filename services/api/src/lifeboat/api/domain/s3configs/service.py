"""S3 configurations: CRUD with keys encrypted at rest, access tests, the environment default,
and what other domains need (stores for the API's own S3 calls, sealed targets for jobs).

The keys are SecretBox tokens bound to their row and column
(``s3_configs.access_key_id:<id>``, ``s3_configs.secret_access_key:<id>``); they are never
returned (``hasAccessKeyId``/``hasSecretAccessKey`` only) and travel to executors sealed for
one execution (:func:`target_for`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupSchedule, S3Config, new_id
from lifeboat.api.domain.s3configs.schemas import (
    S3BucketsOut,
    S3CheckOut,
    S3ConfigCreate,
    S3ConfigOut,
    S3ConfigUpdate,
    S3TestOut,
)
from lifeboat.api.security import allow_private_endpoints
from lifeboat.core.errors import ConflictError, NotFoundError, S3Error, ValidationError
from lifeboat.core.netguard import check_outbound_url
from lifeboat.storage.s3.settings import S3Settings
from lifeboat.storage.s3.store import S3Store
from lifeboat.wire.messages import S3Target

log = logging.getLogger(__name__)

ENV_DEFAULT_NAME = "default (environment)"
"""Name of the configuration created from the S3_* environment variables."""

_TUNING = (
    "addressing_style",
    "part_size_bytes",
    "concurrency",
    "storage_class",
    "sse",
    "sse_kms_key_id",
    "checksum_mode",
)
_PLAIN = ("name", "bucket", "region", "endpoint", "path_prefix", "enabled", *_TUNING)


def access_key_context(config_id: str) -> str:
    """Associated data binding a stored access key id to its row."""
    return f"s3_configs.access_key_id:{config_id}"


def secret_key_context(config_id: str) -> str:
    """Associated data binding a stored secret access key to its row."""
    return f"s3_configs.secret_access_key:{config_id}"


def to_out(row: S3Config) -> S3ConfigOut:
    """The REST view of a row (never a key)."""
    return S3ConfigOut(
        id=row.id,
        name=row.name,
        region=row.region,
        bucket=row.bucket,
        endpoint=row.endpoint,
        path_prefix=row.path_prefix,
        enabled=row.enabled,
        is_default=row.is_default,
        addressing_style=row.addressing_style,
        part_size_bytes=row.part_size_bytes,
        concurrency=row.concurrency,
        storage_class=row.storage_class,
        sse=row.sse,
        sse_kms_key_id=row.sse_kms_key_id,
        checksum_mode=row.checksum_mode,
        has_access_key_id=bool(row.access_key_id_encrypted),
        has_secret_access_key=bool(row.secret_access_key_encrypted),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def keys_of(ctx: ApiContext, row: S3Config) -> tuple[str, str]:
    """The decrypted ``(access key id, secret access key)``; keep them in memory only.

    A key not stored (a configuration imported without its secrets) comes back as "", which
    the S3 settings refuse with a 400 naming the missing field.
    """
    return (
        ctx.box.decrypt(row.access_key_id_encrypted, context=access_key_context(row.id))
        if row.access_key_id_encrypted
        else "",
        ctx.box.decrypt(row.secret_access_key_encrypted, context=secret_key_context(row.id))
        if row.secret_access_key_encrypted
        else "",
    )


def _settings(values: dict[str, Any], access: str, secret: str) -> S3Settings:
    """Validated store settings (ValidationError with field details otherwise)."""
    return S3Settings(
        bucket=values["bucket"],
        access_key_id=access,
        secret_access_key=secret,
        region=values["region"],
        endpoint_url=values["endpoint"],
        path_prefix=values["path_prefix"],
        addressing_style=values["addressing_style"],
        part_size_bytes=values["part_size_bytes"],
        concurrency=values["concurrency"],
        storage_class=values["storage_class"],
        sse=values["sse"],
        sse_kms_key_id=values["sse_kms_key_id"],
        checksum_mode=values["checksum_mode"],
    )


def _values(row: S3Config) -> dict[str, Any]:
    return {f: getattr(row, f) for f in _PLAIN}


async def check_endpoint(ctx: ApiContext, endpoint: str | None) -> None:
    """Refuse endpoints the API must not call (SSRF guard): unless the admin setting
    ``allow_private_endpoints`` is on, the host must resolve to public addresses only.

    No endpoint (AWS itself) and the ``S3_ENDPOINT`` of the environment (set by whoever
    deployed Lifeboat, often a MinIO beside it) are trusted. Checked when a configuration is
    saved and before every call the API makes itself; executors, which may sit in another
    network, get configurations that passed the check when they were saved.

    Raises:
        ValidationError: the endpoint is refused (``details`` names the ``endpoint`` field).
    """
    if endpoint is None or endpoint == ctx.settings.s3.endpoint:
        return
    allow_private = await allow_private_endpoints(ctx)
    try:
        await asyncio.to_thread(check_outbound_url, endpoint, allow_private)
    except ValidationError as exc:
        raise ValidationError(
            f"endpoint refused: {exc.message}",
            details=[{"field": "endpoint", "message": exc.message}],
        ) from None


def settings_of(ctx: ApiContext, row: S3Config) -> S3Settings:
    """The store settings of a stored configuration, keys decrypted."""
    access, secret = keys_of(ctx, row)
    return _settings(_values(row), access, secret)


async def store_for(ctx: ApiContext, row: S3Config) -> S3Store:
    """An (unopened) store for the API's own calls, its endpoint checked; use as
    ``async with await store_for(...)``.

    Raises:
        ValidationError: the endpoint is refused (:func:`check_endpoint`).
    """
    await check_endpoint(ctx, row.endpoint)
    return S3Store(settings_of(ctx, row))


def target_for(ctx: ApiContext, row: S3Config, *, key: str, bound_to: str) -> S3Target:
    """The job-message form of `row` for object `key`, keys sealed for execution `bound_to`."""
    access, secret = keys_of(ctx, row)
    settings = _settings(_values(row), access, secret)
    return S3Target(
        bucket=row.bucket,
        key=key,
        sealed_access_key_id=ctx.sealer.seal(access, bound_to=bound_to),
        sealed_secret_access_key=ctx.sealer.seal(secret, bound_to=bound_to),
        region=row.region,
        endpoint_url=row.endpoint,
        path_prefix=row.path_prefix,
        addressing_style=settings.addressing_style,
        part_size_bytes=row.part_size_bytes,
        concurrency=row.concurrency,
        storage_class=row.storage_class,
        sse=settings.sse,
        sse_kms_key_id=row.sse_kms_key_id,
        checksum_mode=settings.checksum_mode,
        config_id=row.id,
    )


async def load(session: AsyncSession, config_id: str) -> S3Config:
    """The configuration `config_id`, or NotFoundError."""
    row = await session.get(S3Config, config_id)
    if row is None:
        raise NotFoundError(f"S3 configuration {config_id} not found", details={"id": config_id})
    return row


async def default_config(session: AsyncSession) -> S3Config | None:
    """The enabled default configuration, else the only enabled one, else None."""
    row = await session.scalar(
        select(S3Config).where(S3Config.is_default.is_(True), S3Config.enabled.is_(True)).limit(1)
    )
    if row is not None:
        return row
    rows = (await session.scalars(select(S3Config).where(S3Config.enabled.is_(True)))).all()
    return rows[0] if len(rows) == 1 else None


async def resolve_config(session: AsyncSession, config_id: str | None) -> S3Config:
    """The enabled configuration `config_id`, or the default one.

    Raises:
        ValidationError: none is configured, or the one named is disabled or unknown.
    """
    if config_id is None:
        row = await default_config(session)
        if row is None:
            raise ValidationError(
                "S3 is not configured: add an S3 configuration (or name one with s3ConfigId)",
                details={"uploadToS3": True},
            )
        return row
    row = await session.get(S3Config, config_id)
    if row is None:
        raise ValidationError(
            f"unknown S3 configuration {config_id}", details={"s3ConfigId": config_id}
        )
    if not row.enabled:
        raise ValidationError(
            f"S3 configuration {row.name!r} is disabled", details={"s3ConfigId": config_id}
        )
    return row


async def _check_name_free(
    session: AsyncSession, name: str, *, except_id: str | None = None
) -> None:
    query = select(S3Config.id).where(S3Config.name == name)
    if except_id is not None:
        query = query.where(S3Config.id != except_id)
    if await session.scalar(query) is not None:
        raise ConflictError(
            f"an S3 configuration named {name!r} already exists", details={"name": name}
        )


async def _make_default(session: AsyncSession, config_id: str) -> None:
    await session.execute(update(S3Config).where(S3Config.id != config_id).values(is_default=False))


async def list_configs(ctx: ApiContext) -> list[S3ConfigOut]:
    """Every configuration, by name."""
    async with ctx.db.read() as session:
        rows = (await session.scalars(select(S3Config).order_by(S3Config.name))).all()
    return [to_out(r) for r in rows]


async def get_config(ctx: ApiContext, config_id: str) -> S3ConfigOut:
    """One configuration."""
    async with ctx.db.read() as session:
        return to_out(await load(session, config_id))


async def create_config(ctx: ApiContext, data: S3ConfigCreate) -> S3ConfigOut:
    """Validate, encrypt the keys and store a configuration."""
    values = {f: getattr(data, f) for f in _PLAIN}
    values["name"] = data.name.strip()
    _settings(values, data.access_key_id, data.secret_access_key)  # validates
    await check_endpoint(ctx, data.endpoint)
    config_id = new_id()
    row = S3Config(
        id=config_id,
        access_key_id_encrypted=ctx.box.encrypt(
            data.access_key_id, context=access_key_context(config_id)
        ),
        secret_access_key_encrypted=ctx.box.encrypt(
            data.secret_access_key, context=secret_key_context(config_id)
        ),
        is_default=data.is_default,
        **values,
    )
    async with ctx.db.write() as session:
        await _check_name_free(session, values["name"])
        if not await session.scalar(select(S3Config.id).limit(1)):
            row.is_default = True  # the first configuration is the default
        if row.is_default:
            await _make_default(session, config_id)
        session.add(row)
        await session.flush()
        await session.refresh(row)
    return to_out(row)


async def update_config(ctx: ApiContext, config_id: str, data: S3ConfigUpdate) -> S3ConfigOut:
    """Apply a partial update; omitted keys stay as stored."""
    async with ctx.db.write() as session:
        row = await load(session, config_id)
        values = _values(row)
        for f in _PLAIN:
            value = getattr(data, f)
            if value is not msgspec.UNSET:
                values[f] = value.strip() if f == "name" and isinstance(value, str) else value
        if values.get("sse") != "aws:kms" and data.sse_kms_key_id is msgspec.UNSET:
            values["sse_kms_key_id"] = None
        access, secret = keys_of(ctx, row)
        if not isinstance(data.access_key_id, msgspec.UnsetType):
            access = data.access_key_id
        if not isinstance(data.secret_access_key, msgspec.UnsetType):
            secret = data.secret_access_key
        _settings(values, access, secret)  # validates the result as a whole
        await check_endpoint(ctx, values["endpoint"])
        if values["name"] != row.name:
            await _check_name_free(session, values["name"], except_id=config_id)
        for f, value in values.items():
            setattr(row, f, value)
        if not isinstance(data.access_key_id, msgspec.UnsetType):
            row.access_key_id_encrypted = ctx.box.encrypt(
                access, context=access_key_context(config_id)
            )
        if not isinstance(data.secret_access_key, msgspec.UnsetType):
            row.secret_access_key_encrypted = ctx.box.encrypt(
                secret, context=secret_key_context(config_id)
            )
        if not isinstance(data.is_default, msgspec.UnsetType):
            row.is_default = data.is_default
            if data.is_default:
                await _make_default(session, config_id)
        await session.flush()
        await session.refresh(row)
    return to_out(row)


async def delete_config(ctx: ApiContext, config_id: str) -> None:
    """Delete a configuration. Objects in the bucket stay; backups recorded there keep their
    bucket and key, and are read through any other configuration of the same bucket.

    Raises:
        ConflictError: a schedule sends its backups there.
    """
    async with ctx.db.write() as session:
        row = await load(session, config_id)
        users = list(
            await session.scalars(
                select(BackupSchedule.id).where(BackupSchedule.s3_config_id == config_id)
            )
        )
        if users:
            raise ConflictError(
                f"S3 configuration {row.name!r} is used by {len(users)} schedule(s)",
                details={"scheduleIds": users},
            )
        await session.delete(row)


async def test_config(ctx: ApiContext, config_id: str) -> S3TestOut:
    """Real calls: HeadBucket, PutObject and DeleteObject of a probe; each step reported."""
    async with ctx.db.read() as session:
        row = await load(session, config_id)
    started = time.monotonic()
    async with await store_for(ctx, row) as store:
        report = await store.test_access()
    latency = int((time.monotonic() - started) * 1000)
    checks = [
        S3CheckOut(name=c.name, status=c.status, error_code=c.error_code, message=c.message)
        for c in report.checks
    ]
    failed = [c for c in report.checks if c.status == "failed"]
    error = None
    if failed:
        first = failed[0]
        error = f"{first.name} failed ({first.error_code}): {first.message}"
    return S3TestOut(ok=report.ok, checks=checks, latency_ms=latency, error=error)


async def list_buckets(ctx: ApiContext, config_id: str) -> S3BucketsOut:
    """The buckets these credentials can list.

    Raises:
        S3Error: the listing was refused or the endpoint is unreachable (502 S3_ERROR).
    """
    async with ctx.db.read() as session:
        row = await load(session, config_id)
    async with await store_for(ctx, row) as store:
        return S3BucketsOut(buckets=sorted(await store.list_buckets()))


async def ensure_env_default(ctx: ApiContext) -> str | None:
    """Create or update the default configuration from S3_* variables (start-up).

    Returns its id, or None when the environment names no bucket. A bucket without both keys
    is refused with a warning (nothing is stored).
    """
    env = ctx.settings.s3
    if not env.configured or env.bucket is None:
        return None
    if not env.access_key_id or not env.secret_access_key:
        log.warning(
            "S3_BUCKET is set but S3_ACCESS_KEY_ID or S3_SECRET_ACCESS_KEY is missing:"
            " no default S3 configuration was created"
        )
        return None
    values: dict[str, Any] = {
        "name": ENV_DEFAULT_NAME,
        "bucket": env.bucket,
        "region": env.region or "us-east-1",
        "endpoint": env.endpoint,
        "path_prefix": env.prefix,
        "enabled": True,
        "addressing_style": "path" if env.endpoint else "auto",
        "part_size_bytes": 16 * 1024 * 1024,
        "concurrency": 4,
        "storage_class": None,
        "sse": None,
        "sse_kms_key_id": None,
        "checksum_mode": "when_required",
    }
    try:
        _settings(values, env.access_key_id, env.secret_access_key)
    except ValidationError as exc:
        log.error("the S3_* environment is invalid, no default S3 configuration: %s", exc.message)
        return None
    async with ctx.db.write() as session:
        row = await session.scalar(select(S3Config).where(S3Config.name == ENV_DEFAULT_NAME))
        if row is None:
            row = S3Config(id=new_id(), **values)
            session.add(row)
        else:
            for f in ("bucket", "region", "endpoint", "path_prefix"):
                setattr(row, f, values[f])
        row.access_key_id_encrypted = ctx.box.encrypt(
            env.access_key_id, context=access_key_context(row.id)
        )
        row.secret_access_key_encrypted = ctx.box.encrypt(
            env.secret_access_key, context=secret_key_context(row.id)
        )
        row.is_default = True
        await _make_default(session, row.id)
        config_id = row.id
    log.info("default S3 configuration from the environment: bucket %s", env.bucket)
    return config_id


async def config_for_object(
    session: AsyncSession, *, config_id: str | None, bucket: str
) -> S3Config:
    """The configuration to read an object of `bucket` with: `config_id` if it still exists,
    else any enabled configuration of that bucket.

    Raises:
        S3Error: no configuration can reach the bucket any more.
    """
    if config_id is not None:
        row = await session.get(S3Config, config_id)
        if row is not None and row.bucket == bucket:
            return row
    row = await session.scalar(
        select(S3Config)
        .where(S3Config.bucket == bucket)
        .order_by(S3Config.enabled.desc(), S3Config.is_default.desc())
        .limit(1)
    )
    if row is None:
        raise S3Error(f"no S3 configuration for bucket {bucket} any more")
    return row
