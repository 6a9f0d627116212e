"""Choosing the copy a restore reads: a backup's local artifact or S3 object (sealed target),
any object of a configured bucket (:func:`object_artifact`), or an uploaded file
(:func:`upload_artifact`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BackupExecution, DatabaseConfig
from lifeboat.api.domain.databases.service import engine_of
from lifeboat.api.domain.restores.schemas import S3ObjectIn
from lifeboat.api.domain.s3configs.objects import check_key, inspect_object
from lifeboat.api.domain.s3configs.service import config_for_object, target_for
from lifeboat.api.domain.s3configs.service import load as load_config
from lifeboat.core.errors import ForbiddenError, ValidationError
from lifeboat.core.naming import Compression, Engine
from lifeboat.engines.registry import format_of
from lifeboat.storage.manifest import Manifest, decode_manifest
from lifeboat.wire.messages import S3Target

if TYPE_CHECKING:
    from lifeboat.api.domain.restores.uploads import Received


def _has_local(backup: BackupExecution) -> bool:
    return bool(backup.local_path) and backup.local_status not in ("failed", "deleted")


def _has_s3(backup: BackupExecution) -> bool:
    return backup.s3_status == "completed" and bool(backup.s3_bucket) and bool(backup.s3_key)


async def s3_source_for(
    ctx: ApiContext,
    session: AsyncSession,
    backup: BackupExecution,
    restore_id: str,
    source: Literal["auto", "local", "s3"],
) -> S3Target | None:
    """The S3 object to restore from, or None for the local artifact.

    ``auto`` prefers the local copy (no download) and falls back to S3.

    Raises:
        ValidationError: the chosen copy does not exist.
        S3Error: the backup's bucket has no configuration any more.
    """
    if source == "local" or (source == "auto" and _has_local(backup)):
        if not _has_local(backup):
            raise ValidationError(
                "the backup has no local copy", details={"backupId": backup.id, "source": source}
            )
        return None
    if not _has_s3(backup):
        raise ValidationError(
            "the backup has no local copy and no S3 copy"
            if source == "auto"
            else "the backup has no S3 copy",
            details={"backupId": backup.id, "source": source},
        )
    assert backup.s3_bucket is not None and backup.s3_key is not None
    config = await config_for_object(
        session, config_id=backup.s3_config_id, bucket=backup.s3_bucket
    )
    return target_for(ctx, config, key=backup.s3_key, bound_to=restore_id)


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """What a restore reads and what vouches for it."""

    engine: Engine
    compression: Compression
    sha256: str | None
    """From the backup record or a trusted manifest; None: nothing vouches for the bytes."""
    size: int
    backup_id: str | None = None
    local_path: str | None = None
    s3: S3Target | None = None
    uploaded: bool = False
    """`local_path` is a file uploaded for this restore (removed once it ended)."""


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError(f"{field}: {message}", details=[{"field": field, "message": message}])


async def object_artifact(
    ctx: ApiContext, obj: S3ObjectIn, *, allow_unverified: bool, restore_id: str
) -> Artifact:
    """The object `obj` of a configured bucket, described by the manifest beside it.

    Without a trusted manifest only `allow_unverified` (checked to come from an admin by the
    caller) lets it through, with engine and compression from `obj` or the key's suffixes.
    Talks to S3: call it outside any database transaction.

    Raises:
        NotFoundError: unknown configuration or object.
        ValidationError: a bad key, a disabled configuration, an object that does not match its
            manifest, or an unverifiable object without `allow_unverified`.
        S3Error: S3 refused or could not be reached.
    """
    check_key(obj.key, field="s3Object.key")
    async with ctx.db.read() as session:
        config = await load_config(session, obj.s3_config_id)
    if not config.enabled:
        raise _invalid("s3Object.s3ConfigId", f"S3 configuration {config.name!r} is disabled")
    facts = await inspect_object(ctx, config, obj.key)
    where = f"s3://{config.bucket}/{obj.key}"
    if facts.size == 0:
        raise _invalid("s3Object.key", f"{where} is empty")
    if facts.manifest is not None:
        engine, compression, sha256 = _format_from_manifest(obj, facts.manifest, facts.size, where)
    else:
        if not allow_unverified:
            raise _invalid(
                "allowUnverified",
                f"{where} cannot be verified because {facts.untrusted_because}; an admin may"
                " restore it anyway with allowUnverified",
            )
        engine, compression = _format_from_key(obj)
        sha256 = None
    return Artifact(
        engine=engine,
        compression=compression,
        sha256=sha256,
        size=facts.size,
        s3=target_for(ctx, config, key=obj.key, bound_to=restore_id),
    )


def _format_from_manifest(
    obj: S3ObjectIn, manifest: Manifest, size: int, where: str
) -> tuple[Engine, Compression, str]:
    """Engine, compression and sha256 of an object its trusted manifest describes; the
    request's hints must agree with it."""
    if manifest.size_bytes != size:
        raise _invalid(
            "s3Object.key",
            f"{where} holds {size} bytes but its manifest says {manifest.size_bytes}:"
            " it is not the backup the manifest describes",
        )
    for field, hint, actual in (
        ("engine", obj.engine, manifest.engine),
        ("compression", obj.compression, manifest.compression),
    ):
        if hint is not None and hint != actual:
            raise _invalid(f"s3Object.{field}", f"the object's manifest says {actual}")
    return manifest.engine, manifest.compression, manifest.sha256


def _format_from_key(obj: S3ObjectIn) -> tuple[Engine, Compression]:
    """Engine and compression of an unverified object: the request's, else the key's suffixes."""
    guessed_engine, guessed_compression = format_of(obj.key)
    engine = obj.engine or guessed_engine
    compression = obj.compression or guessed_compression
    if engine is None:
        raise _invalid("s3Object.engine", "cannot tell from the key; name the engine")
    if compression is None:
        raise _invalid("s3Object.compression", "cannot tell from the key; name it")
    return engine, compression


_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x1f\x8b", "gzip"),
)


def sniff_compression(head: bytes) -> Compression | None:
    """The compression a file starting with `head` uses, from its magic number."""
    for magic, compression in _MAGIC:
        if head.startswith(magic):
            return compression
    return None


async def upload_artifact(
    session: AsyncSession,
    received: Received,
    *,
    target_engine: Engine,
    engine: Engine | None,
    compression: Compression | None,
    confirm_unverified: bool,
    is_admin: bool,
) -> Artifact:
    """The uploaded file of `received`: verified when its sha256 is that of a backup this
    install recorded, otherwise unknown.

    A manifest sent along proves nothing about where the file came from (anyone can write
    one), so it never makes a file trusted: it only has to describe the file exactly (size and
    the sha256 computed while it was received, catching a damaged transfer) and supplies the
    engine and compression. What vouches for the bytes is this install's own record of the
    checksum (DESIGN.md: "only artifacts whose sha256 matches a manifest it trusts"). A file
    nothing vouches for needs an admin's `confirm_unverified`; the engine then defaults to the
    target's and the compression is read from the file's magic number.

    Raises:
        ValidationError: a manifest that is unreadable or does not match the file, hints that
            contradict it, or an unknown file and no confirmation.
        ForbiddenError: an unknown file, confirmed by someone who is not an admin.
    """
    assert received.relative is not None
    if received.manifest is not None:
        engine, compression = _format_from_upload_manifest(received, engine, compression)
    known = await _recorded_backup_with(session, received.sha256, received.size)
    if known is not None:
        source = await session.get(DatabaseConfig, known.database_config_id)
        return Artifact(
            engine=engine_of(source) if source is not None else (engine or target_engine),
            compression="gzip" if known.compression_used == "gzip" else "zstd",
            sha256=received.sha256,
            size=received.size,
            backup_id=known.id,
            local_path=received.relative,
            uploaded=True,
        )
    _check_unverified_upload_confirmed(confirm_unverified=confirm_unverified, is_admin=is_admin)
    return Artifact(
        engine=engine or target_engine,
        compression=_upload_compression(received, compression),
        sha256=None,
        size=received.size,
        local_path=received.relative,
        uploaded=True,
    )


def _format_from_upload_manifest(
    received: Received, engine: Engine | None, compression: Compression | None
) -> tuple[Engine, Compression]:
    """Engine and compression from the manifest sent along, once it describes the file exactly
    (size and sha256) and agrees with the form's hints."""
    assert received.manifest is not None
    try:
        manifest = decode_manifest(received.manifest)
    except msgspec.DecodeError as exc:
        raise _invalid("manifest", f"not a Lifeboat manifest ({exc})") from None
    sha256 = manifest.sha256.lower()
    if not _SHA256.fullmatch(sha256):
        raise _invalid("manifest", "carries no valid sha256")
    if manifest.size_bytes != received.size:
        raise _invalid(
            "file",
            f"the file holds {received.size} bytes but its manifest says"
            f" {manifest.size_bytes}: it is not the backup the manifest describes",
        )
    if sha256 != received.sha256:
        raise _invalid(
            "file",
            f"checksum mismatch: the file's sha256 is {received.sha256}, its manifest"
            f" says {sha256}; nothing was restored",
        )
    for name, hint, actual in (
        ("engine", engine, manifest.engine),
        ("compression", compression, manifest.compression),
    ):
        if hint is not None and hint != actual:
            raise _invalid(name, f"the file's manifest says {actual}")
    return manifest.engine, manifest.compression


async def _recorded_backup_with(
    session: AsyncSession, sha256: str, size: int
) -> BackupExecution | None:
    """A completed backup this install recorded with that checksum and size (what vouches for
    an uploaded file)."""
    return await session.scalar(
        select(BackupExecution)
        .where(
            func.lower(BackupExecution.checksum) == sha256,
            BackupExecution.status == "completed",
            BackupExecution.file_size_bytes == size,
        )
        .limit(1)
    )


def _check_unverified_upload_confirmed(*, confirm_unverified: bool, is_admin: bool) -> None:
    if not confirm_unverified:
        raise _invalid(
            "confirmUnverified",
            "the uploaded file is not a backup this install recorded (its sha256 matches none),"
            " so nothing vouches for it; an admin may restore it anyway with confirmUnverified",
        )
    if not is_admin:
        raise ForbiddenError("only an admin may restore an uploaded file nothing vouches for")


def _upload_compression(received: Received, compression: Compression | None) -> Compression:
    """The compression of an unverified upload: the form's (if the magic number agrees), else
    the magic number's, else the file name's."""
    sniffed = sniff_compression(received.head)
    if compression is not None and sniffed is not None and compression != sniffed:
        raise _invalid("compression", f"the file's bytes are {sniffed}, not {compression}")
    chosen = compression or sniffed or format_of(received.filename or "")[1]
    if chosen is None:
        raise _invalid("compression", "cannot tell from the file; name it (zstd or gzip)")
    return chosen
