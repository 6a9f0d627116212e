"""Configuration import, the write: after :mod:`checks`, everything the document holds is
created in one SQLite transaction with new ids, references rewritten and secrets re-encrypted
under this install's key. Any error rolls the whole import back; a dry run goes as far as the
write and rolls it back on purpose."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupSchedule,
    DatabaseConfig,
    RetentionPolicy,
    S3Config,
    SystemSetting,
    new_id,
    utcnow,
)
from lifeboat.api.domain.configio.checks import (
    check_references,
    check_s3,
    db_context,
    open_secrets,
    parse_document,
    problem,
    s3_context,
)
from lifeboat.api.domain.configio.schemas import (
    ConfigDocument,
    ConfigImportIn,
    ConfigImportItem,
    ConfigImportOut,
    DatabaseDoc,
    ImportKind,
    RetentionPolicyDoc,
    S3ConfigDoc,
    ScheduleDoc,
)
from lifeboat.api.domain.databases.service import password_context
from lifeboat.api.domain.retention.service import check_hard_limit, policy_of
from lifeboat.api.domain.s3configs.service import access_key_context, secret_key_context
from lifeboat.api.domain.schedules.service import next_run, publish, resolve_cron
from lifeboat.core.errors import ConflictError
from lifeboat.policy.cron import validate_timezone

log = logging.getLogger(__name__)


def _encode_setting(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int | float):
        return repr(value), "number"
    if isinstance(value, str):
        return value, "string"
    return json.dumps(value), "json"


class _DryRun(Exception):
    """Raised inside the write transaction of a dry run to roll it back."""


class _Importer:
    """One import's write: what it created or kept, by kind and ref."""

    def __init__(
        self,
        ctx: ApiContext,
        session: AsyncSession,
        plain: dict[str, str],
        *,
        skip: bool,
    ) -> None:
        self.ctx, self.session, self.plain, self.skip = ctx, session, plain, skip
        self.now = utcnow()
        self.items: list[ConfigImportItem] = []
        self.schedules: list[BackupSchedule] = []
        self.conflicts: list[dict[str, str]] = []
        self.ids: dict[tuple[str, str], str] = {}  # (kind, ref) -> id in this install
        self.kept: set[tuple[str, str]] = set()  # (kind, ref) that existed and were kept

    def created(self, kind: ImportKind, name: str, new: str, *, missing: bool = False) -> None:
        self.items.append(
            ConfigImportItem(kind=kind, name=name, action="create", id=new, needs_secret=missing)
        )

    async def taken(self, kind: ImportKind, label: str, model: Any, name: str, ref: str) -> bool:
        """Whether `name` exists already: kept (skip mode) or a conflict (reported at the end)."""
        existing: str | None = await self.session.scalar(select(model.id).where(model.name == name))
        if existing is None:
            return False
        if not self.skip:
            message = f"a {label} named {name!r} already exists"
            self.conflicts.append(problem(f"document.{kind}", message))
            return True
        self.ids[(kind, ref)] = existing
        self.kept.add((kind, ref))
        reason = f"a {label} named {name!r} already exists (kept as it is)"
        self.items.append(
            ConfigImportItem(kind=kind, name=name, action="skip", id=existing, reason=reason)
        )
        return True

    async def policy(self, p: RetentionPolicyDoc) -> None:
        name = p.name.strip()
        if await self.taken("retentionPolicy", "retention policy", RetentionPolicy, name, p.ref):
            return
        row = RetentionPolicy(
            id=new_id(),
            name=name,
            description=p.description,
            mode=p.mode,
            keep_hourly=p.keep_hourly,
            keep_daily=p.keep_daily,
            keep_weekly=p.keep_weekly,
            keep_monthly=p.keep_monthly,
            keep_yearly=p.keep_yearly,
            max_age_days=p.max_age_days,
            max_total_bytes=p.max_total_bytes,
            timezone=p.timezone,
            created_at=self.now,
            updated_at=self.now,
        )
        validate_timezone(p.timezone)
        policy_of(row)  # as the REST endpoint would
        check_hard_limit(row, self.ctx.settings.max_backup_retention_days)
        self.session.add(row)
        self.ids[("retentionPolicy", p.ref)] = row.id
        self.created("retentionPolicy", name, row.id)

    def _sealed(self, plain: str | None, context: str) -> str:
        return self.ctx.box.encrypt(plain, context=context) if plain else ""

    async def s3_config(self, s: S3ConfigDoc) -> bool:
        """Create `s`; whether it is the document's default."""
        name = s.name.strip()
        if await self.taken("s3Config", "S3 configuration", S3Config, name, s.ref):
            return False
        config_id = new_id()
        access = self.plain.get(s3_context(s.ref, "accessKeyId"))
        secret = self.plain.get(s3_context(s.ref, "secretAccessKey"))
        has_keys = access is not None and secret is not None
        self.session.add(
            S3Config(
                id=config_id,
                name=name,
                region=s.region,
                bucket=s.bucket,
                endpoint=s.endpoint,
                path_prefix=s.path_prefix,
                addressing_style=s.addressing_style,
                part_size_bytes=s.part_size_bytes,
                concurrency=s.concurrency,
                storage_class=s.storage_class,
                sse=s.sse,
                sse_kms_key_id=s.sse_kms_key_id,
                checksum_mode=s.checksum_mode,
                enabled=s.enabled and has_keys,  # no keys: unusable until given
                is_default=False,
                access_key_id_encrypted=self._sealed(access, access_key_context(config_id)),
                secret_access_key_encrypted=self._sealed(secret, secret_key_context(config_id)),
            )
        )
        self.ids[("s3Config", s.ref)] = config_id
        self.created("s3Config", name, config_id, missing=not has_keys)
        return s.is_default

    async def make_default(self, s3_ref: str) -> None:
        """The document's default S3 configuration becomes the default, unless one exists."""
        config_id = self.ids[("s3Config", s3_ref)]
        other = await self.session.scalar(
            select(S3Config.id).where(S3Config.is_default.is_(True), S3Config.id != config_id)
        )
        if other is None:
            await self.session.execute(
                update(S3Config).where(S3Config.id == config_id).values(is_default=True)
            )

    async def database(self, d: DatabaseDoc) -> None:
        name = d.name.strip()
        if await self.taken("database", "database", DatabaseConfig, name, d.ref):
            return
        config_id = new_id()
        password = self.plain.get(db_context(d.ref))
        missing = d.has_password and password is None
        self.session.add(
            DatabaseConfig(
                id=config_id,
                name=name,
                type=d.type,
                host=d.host,
                port=d.port,
                database_name=d.database_name,
                username=d.username,
                password_encrypted=self._sealed(password, password_context(config_id)),
                docker_container_name=d.docker_container_name,
                enabled=d.enabled and not missing,  # no password: disabled until given
                queue=d.queue,
            )
        )
        self.ids[("database", d.ref)] = config_id
        self.created("database", name, config_id, missing=missing)
        if missing:
            self.items[-1].reason = "password omitted from the export: set it, then enable"

    def schedule(self, s: ScheduleDoc, label: str) -> None:
        db_id = self.ids.get(("database", s.database))
        if db_id is None or ("database", s.database) in self.kept:
            reason = "its database already existed and was kept"
            self.items.append(
                ConfigImportItem(kind="schedule", name=label, action="skip", id=None, reason=reason)
            )
            return
        validate_timezone(s.timezone)
        row = BackupSchedule(
            id=new_id(),
            database_config_id=db_id,
            schedule_type=s.schedule_type,
            cron_expression=resolve_cron(s.schedule_type, s.cron_expression),
            timezone=s.timezone,
            enabled=s.enabled,
            s3_upload_enabled=s.s3_upload_enabled,
            s3_config_id=self.ids.get(("s3Config", s.s3_config)) if s.s3_config else None,
            store_locally=s.store_locally,
            retention_policy_id=(
                self.ids.get(("retentionPolicy", s.retention_policy))
                if s.retention_policy
                else None
            ),
            compression=s.compression,
            retry_count=s.retry_count,
            retry_delay_seconds=s.retry_delay_seconds,
            active_since=self.now,
            created_at=self.now,
            updated_at=self.now,
        )
        row.next_run_at = next_run(row, self.now)
        self.session.add(row)
        self.schedules.append(row)
        self.created("schedule", label, row.id)

    async def setting(self, key: str, value: Any) -> None:
        raw, value_type = _encode_setting(value)
        row = await self.session.get(SystemSetting, key)
        if row is None:
            self.session.add(SystemSetting(key=key, value=raw, value_type=value_type))
        elif self.skip:  # keep what exists, settings included
            if (row.value, row.value_type) != (raw, value_type):
                reason = "already set here (kept as it is)"
                self.items.append(
                    ConfigImportItem(
                        kind="setting", name=key, action="skip", id=None, reason=reason
                    )
                )
            return
        else:
            row.value, row.value_type = raw, value_type
        self.items.append(ConfigImportItem(kind="setting", name=key, action="set", id=None))

    async def run(self, doc: ConfigDocument) -> None:
        """Everything, in dependency order; ConflictError (all names listed) in fail mode."""
        for p in doc.retention_policies:
            await self.policy(p)
        defaults = [s.ref for s in doc.s3_configs if await self.s3_config(s)]
        await self.session.flush()
        for ref in defaults[:1]:
            await self.make_default(ref)
        for d in doc.databases:
            await self.database(d)
        await self.session.flush()
        names = {d.ref: d.name.strip() for d in doc.databases}
        for s in doc.schedules:
            self.schedule(s, f"{s.schedule_type} schedule of {names[s.database]}")
        for key, value in doc.settings.items():
            await self.setting(key, value)
        if self.conflicts:
            raise ConflictError(
                f"{len(self.conflicts)} name(s) of the document already exist: "
                f"{self.conflicts[0]['message']} (nothing was imported; use onConflict=skip to "
                "keep them and import the rest)",
                details=self.conflicts,
            )
        await self.session.flush()


async def import_config(ctx: ApiContext, data: ConfigImportIn) -> ConfigImportOut:
    """Check the document, then create everything in one transaction (or nothing)."""
    doc = parse_document(data.document)
    check_references(doc)
    await check_s3(ctx, doc)
    plain = await open_secrets(doc, data.passphrase)
    importer: _Importer | None = None
    try:
        async with ctx.db.write() as session:
            importer = _Importer(ctx, session, plain, skip=data.on_conflict == "skip")
            await importer.run(doc)
            if data.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert importer is not None
    created = sum(1 for i in importer.items if i.action == "create")
    skipped = sum(1 for i in importer.items if i.action == "skip")
    if not data.dry_run:
        for row in importer.schedules:
            await publish(ctx, row)
        log.info("configuration imported: %d created, %d skipped", created, skipped)
    return ConfigImportOut(
        dry_run=data.dry_run, created=created, skipped=skipped, items=importer.items
    )
