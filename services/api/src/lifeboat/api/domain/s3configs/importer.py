"""Rebuilding backup records from ``*.manifest.json`` sidecars (a bucket or the local storage).

A fresh install pointed at the bucket (or backup directory) of an old one gets its history
back and can restore from it. Idempotent by execution id: a manifest whose execution is
already recorded is skipped, or merged when it adds a copy the record lacks (e.g. the S3 copy
of a backup known locally). Only artifacts whose size matches their manifest are imported; the
sha256 is verified by the executor before any restore.

A manifest names its database by label: the configuration of that name is used, or a
disabled placeholder configuration is created (engine and database name from the manifest,
no host or password) so the record can exist and be restored into any configured database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import BACKUP_TYPES, BackupExecution, DatabaseConfig, new_id, utcnow
from lifeboat.api.domain.s3configs.schemas import ImportOut, ImportProblem
from lifeboat.api.domain.s3configs.service import load, store_for
from lifeboat.core.errors import LifeboatError
from lifeboat.core.naming import manifest_name
from lifeboat.engines.registry import engine_for
from lifeboat.storage.manifest import Manifest, decode_manifest
from lifeboat.storage.s3.store import S3Store

log = logging.getLogger(__name__)

IMPORTED_HOST = "imported.invalid"
"""Host of placeholder configurations created for manifests of unknown databases."""

_SUFFIX = manifest_name("")
_MAX_MANIFEST_BYTES = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Found:
    """One importable artifact: its manifest and where its copy is."""

    manifest: Manifest
    local_path: str | None = None
    s3_bucket: str | None = None
    s3_key: str | None = None
    s3_config_id: str | None = None


@dataclass
class Tally:
    """Counts of one import."""

    found: int = 0
    imported: int = 0
    merged: int = 0
    known: int = 0
    created: list[str] = field(default_factory=list[str])
    problems: list[ImportProblem] = field(default_factory=list[ImportProblem])

    def out(self, source: str) -> ImportOut:
        """The REST view."""
        return ImportOut(
            source=source,
            manifests_found=self.found,
            imported=self.imported,
            merged=self.merged,
            already_known=self.known,
            created_databases=self.created,
            problems=self.problems,
        )


async def _database_for(session: AsyncSession, manifest: Manifest, tally: Tally) -> str:
    row = await session.scalar(
        select(DatabaseConfig).where(DatabaseConfig.name == manifest.database_label)
    )
    if row is not None:
        return row.id
    row = DatabaseConfig(
        id=new_id(),
        name=manifest.database_label,
        type=manifest.engine,
        host=IMPORTED_HOST,
        port=engine_for(manifest.engine).default_port,
        database_name=manifest.database_name,
        username="imported",
        password_encrypted="",
        enabled=False,
    )
    session.add(row)
    await session.flush()
    tally.created.append(manifest.database_label)
    return row.id


async def _record(session: AsyncSession, found: Found, tally: Tally) -> None:
    m = found.manifest
    row = await session.get(BackupExecution, m.execution_id)
    if row is not None:
        if row.checksum and row.checksum != m.sha256:
            tally.problems.append(
                ImportProblem(
                    location=found.s3_key or found.local_path or m.file_name,
                    error=f"execution {m.execution_id} is recorded with another checksum",
                )
            )
            return
        changed = False
        if found.s3_key and row.s3_status != "completed":
            row.s3_uploaded, row.s3_status, row.s3_error = True, "completed", None
            row.s3_bucket, row.s3_key = found.s3_bucket, found.s3_key
            row.s3_config_id = found.s3_config_id
            row.s3_upload_at = row.s3_upload_at or m.completed_at
            changed = True
        if found.local_path and row.local_status != "completed":
            row.local_path, row.local_status = found.local_path, "completed"
            changed = True
        if changed and row.deleted_at is None:
            tally.merged += 1
        else:
            tally.known += 1
        return
    database_id = await _database_for(session, m, tally)
    session.add(
        BackupExecution(
            id=m.execution_id,
            database_config_id=database_id,
            backup_type=m.backup_type if m.backup_type in BACKUP_TYPES else "manual",
            status="completed",
            attempt=1,
            file_name=m.file_name,
            file_size_bytes=m.size_bytes,
            local_path=found.local_path,
            local_status="completed" if found.local_path else None,
            s3_uploaded=found.s3_key is not None,
            s3_bucket=found.s3_bucket,
            s3_key=found.s3_key,
            s3_upload_at=m.completed_at if found.s3_key else None,
            s3_status="completed" if found.s3_key else None,
            s3_config_id=found.s3_config_id,
            started_at=m.started_at,
            completed_at=m.completed_at,
            duration_seconds=max(0, round((m.completed_at - m.started_at).total_seconds())),
            compression_used=m.compression,
            checksum=m.sha256,
            server_version=m.server_version,
            tool_version=m.tool_version,
            progress_bytes=m.size_bytes,
            imported_at=utcnow(),
            # The census in the manifest makes an imported backup verifiable too.
            row_counts=json.dumps(m.row_counts) if m.row_counts is not None else None,
            object_counts=json.dumps(m.object_counts) if m.object_counts is not None else None,
        )
    )
    tally.imported += 1


async def _store_all(ctx: ApiContext, found: list[Found], tally: Tally) -> None:
    async with ctx.db.write() as session:
        for item in found:
            async with session.begin_nested():
                await _record(session, item, tally)


async def import_from_s3(ctx: ApiContext, config_id: str) -> ImportOut:
    """Import every manifest under the configuration's path prefix."""
    async with ctx.db.read() as session:
        config = await load(session, config_id)
    tally = Tally()
    found: list[Found] = []
    async with await store_for(ctx, config) as store:
        keys = await store.list_manifests()
        tally.found = len(keys)
        for mkey in keys:
            item = await _from_s3(store, mkey, config.id, tally)
            if item is not None:
                found.append(item)
    await _store_all(ctx, found, tally)
    log.info(
        "import from s3://%s: %d manifests, %d imported, %d merged",
        config.bucket,
        tally.found,
        tally.imported,
        tally.merged,
    )
    return tally.out(f"s3://{config.bucket}/{config.path_prefix}")


async def _from_s3(store: S3Store, mkey: str, config_id: str, tally: Tally) -> Found | None:
    key = mkey[: -len(_SUFFIX)]
    try:
        manifest = await store.read_manifest(mkey)
        info = await store.head(key)
    except LifeboatError as exc:
        tally.problems.append(ImportProblem(location=mkey, error=exc.message))
        return None
    if info is None:
        tally.problems.append(ImportProblem(location=key, error="the artifact is missing"))
        return None
    if info.size != manifest.size_bytes:
        tally.problems.append(
            ImportProblem(
                location=key,
                error=f"holds {info.size} bytes, the manifest says {manifest.size_bytes}",
            )
        )
        return None
    return Found(
        manifest=manifest, s3_bucket=store.settings.bucket, s3_key=key, s3_config_id=config_id
    )


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(_SUFFIX) and not name.startswith("."):
                yield Path(dirpath, name)


def _scan_local(root: Path, tally: Tally) -> list[Found]:
    found: list[Found] = []
    for mpath in _walk(root):
        tally.found += 1
        artifact = mpath.with_name(mpath.name[: -len(_SUFFIX)])
        relative = artifact.relative_to(root).as_posix()
        try:
            if mpath.stat().st_size > _MAX_MANIFEST_BYTES:
                raise ValueError("the manifest is too large")
            manifest = decode_manifest(mpath.read_bytes())
            size = artifact.stat().st_size
        except FileNotFoundError:
            tally.problems.append(ImportProblem(location=relative, error="the artifact is missing"))
            continue
        except (OSError, ValueError, msgspec.DecodeError) as exc:
            tally.problems.append(
                ImportProblem(location=f"{relative}{_SUFFIX}", error=f"unreadable manifest: {exc}")
            )
            continue
        if size != manifest.size_bytes:
            tally.problems.append(
                ImportProblem(
                    location=relative,
                    error=f"holds {size} bytes, the manifest says {manifest.size_bytes}",
                )
            )
            continue
        found.append(Found(manifest=manifest, local_path=relative))
    return found


async def import_local(ctx: ApiContext) -> ImportOut:
    """Import every manifest found under the local backup storage."""
    root = ctx.settings.backup_storage_path
    tally = Tally()
    found = await asyncio.to_thread(_scan_local, root, tally) if root.is_dir() else []
    await _store_all(ctx, found, tally)
    return tally.out(str(root))
