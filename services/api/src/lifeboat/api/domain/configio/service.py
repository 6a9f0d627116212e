"""Configuration export and import (disaster recovery, moving an install).

Export reads every database, S3, retention and schedule configuration and the system settings
into a :class:`ConfigDocument`; each secret is decrypted with the install's key and, when the
caller asks for secrets, sealed under their passphrase (never written in clear).

Import checks the whole document first (format and version, fields, references, schedules and
policies as the REST endpoints would, S3 endpoints against the SSRF guard, the passphrase),
then writes everything in one SQLite transaction: new ids, references rewritten, secrets
re-encrypted with this install's key. Any error leaves the install untouched; a dry run goes as
far as the write and rolls it back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from typing import Any, cast

import msgspec
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
from lifeboat.api.domain.common import CompressionName
from lifeboat.api.domain.configio.schemas import (
    FORMAT,
    VERSION,
    ConfigDocument,
    ConfigExportIn,
    ConfigImportIn,
    ConfigImportItem,
    ConfigImportOut,
    DatabaseDoc,
    EncryptionDoc,
    RetentionPolicyDoc,
    S3ConfigDoc,
    ScheduleDoc,
)
from lifeboat.api.domain.databases.service import decrypt_password, password_context
from lifeboat.api.domain.retention.service import check_hard_limit, policy_of
from lifeboat.api.domain.s3configs.schemas import Addressing, ChecksumMode, Sse
from lifeboat.api.domain.s3configs.service import access_key_context, keys_of, secret_key_context
from lifeboat.api.domain.schedules.schemas import ScheduleType
from lifeboat.api.domain.schedules.service import next_run, publish, resolve_cron
from lifeboat.api.domain.system.service import api_version, get_settings
from lifeboat.api.security import ALLOW_PRIVATE_ENDPOINTS, allow_private_endpoints
from lifeboat.core.crypto import DecryptionError, PassphraseBox
from lifeboat.core.errors import ConflictError, LifeboatError, ValidationError
from lifeboat.core.netguard import check_outbound_url
from lifeboat.policy.cron import validate_timezone
from lifeboat.policy.retention import RetentionMode
from lifeboat.storage.s3.settings import S3Settings

log = logging.getLogger(__name__)

_SETTING_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
_INTERNAL = "internal."
_PLACEHOLDER = "checked-later"  # the S3 settings are validated before the keys are opened


def _db_context(ref: str) -> str:
    return f"databases.password:{ref}"


def _s3_context(ref: str, field: str) -> str:
    return f"s3Configs.{field}:{ref}"


# --- export -------------------------------------------------------------------------------------


async def export_config(ctx: ApiContext, data: ConfigExportIn) -> ConfigDocument:
    """The install's configuration as a document; secrets sealed under the passphrase, or left
    out."""
    box: PassphraseBox | None = None
    if data.secrets == "include":
        if data.passphrase is None:
            raise ValidationError(
                "a passphrase is required to export secrets",
                details=[{"field": "passphrase", "message": "required with secrets=include"}],
            )
        box = await asyncio.to_thread(PassphraseBox.new, data.passphrase)
    async with ctx.db.read() as session:
        databases = (
            await session.scalars(select(DatabaseConfig).order_by(DatabaseConfig.name))
        ).all()
        s3_rows = (await session.scalars(select(S3Config).order_by(S3Config.name))).all()
        policies = (
            await session.scalars(select(RetentionPolicy).order_by(RetentionPolicy.name))
        ).all()
        schedules = (
            await session.scalars(
                select(BackupSchedule).order_by(BackupSchedule.created_at, BackupSchedule.id)
            )
        ).all()
    db_docs: list[DatabaseDoc] = []
    for row in databases:
        has_password = row.password_encrypted != ""
        sealed = None
        if box is not None and has_password:
            sealed = box.seal(decrypt_password(ctx, row), context=_db_context(row.id))
        db_docs.append(
            DatabaseDoc(
                ref=row.id,
                name=row.name,
                type="mysql" if row.type == "mysql" else "postgresql",
                host=row.host,
                port=row.port,
                database_name=row.database_name,
                username=row.username,
                has_password=has_password,
                password=sealed,
                docker_container_name=row.docker_container_name,
                enabled=row.enabled,
                queue=row.queue,
            )
        )
    s3_docs: list[S3ConfigDoc] = []
    for s3 in s3_rows:
        access: str | None = None
        secret: str | None = None
        if box is not None and s3.access_key_id_encrypted and s3.secret_access_key_encrypted:
            plain_access, plain_secret = keys_of(ctx, s3)
            access = box.seal(plain_access, context=_s3_context(s3.id, "accessKeyId"))
            secret = box.seal(plain_secret, context=_s3_context(s3.id, "secretAccessKey"))
        s3_docs.append(
            S3ConfigDoc(
                ref=s3.id,
                name=s3.name,
                bucket=s3.bucket,
                region=s3.region,
                endpoint=s3.endpoint,
                path_prefix=s3.path_prefix,
                enabled=s3.enabled,
                is_default=s3.is_default,
                addressing_style=cast("Addressing", s3.addressing_style),
                part_size_bytes=s3.part_size_bytes,
                concurrency=s3.concurrency,
                storage_class=s3.storage_class,
                sse=cast("Sse | None", s3.sse),
                sse_kms_key_id=s3.sse_kms_key_id,
                checksum_mode=cast("ChecksumMode", s3.checksum_mode),
                access_key_id=access,
                secret_access_key=secret,
            )
        )
    policy_docs = [
        RetentionPolicyDoc(
            ref=p.id,
            name=p.name,
            description=p.description,
            mode=cast("RetentionMode", p.mode),
            keep_hourly=p.keep_hourly,
            keep_daily=p.keep_daily,
            keep_weekly=p.keep_weekly,
            keep_monthly=p.keep_monthly,
            keep_yearly=p.keep_yearly,
            max_age_days=p.max_age_days,
            max_total_bytes=p.max_total_bytes,
            timezone=p.timezone,
        )
        for p in policies
    ]
    schedule_docs = [
        ScheduleDoc(
            ref=s.id,
            database=s.database_config_id,
            schedule_type=cast("ScheduleType", s.schedule_type),
            cron_expression=s.cron_expression,
            timezone=s.timezone,
            enabled=s.enabled,
            s3_upload_enabled=s.s3_upload_enabled,
            s3_config=s.s3_config_id,
            store_locally=s.store_locally,
            retention_policy=s.retention_policy_id,
            compression=cast("CompressionName", s.compression),
            retry_count=s.retry_count,
            retry_delay_seconds=s.retry_delay_seconds,
        )
        for s in schedules
    ]
    settings = {s.key: s.value for s in await get_settings(ctx)}
    encryption = None
    if box is not None:
        encryption = EncryptionDoc(
            salt=box.salt_text, n=box.n, r=box.r, p=box.p, check=box.check_token()
        )
    return ConfigDocument(
        exported_at=utcnow(),
        lifeboat_version=api_version(),
        secrets="included" if box is not None else "omitted",
        encryption=encryption,
        databases=db_docs,
        s3_configs=s3_docs,
        retention_policies=policy_docs,
        schedules=schedule_docs,
        settings=settings,
    )


# --- import: checks that need no database -------------------------------------------------------


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def parse_document(raw: dict[str, Any]) -> ConfigDocument:
    """The typed document, or ValidationError saying what is wrong (unknown format or version
    first, then the fields)."""
    if raw.get("format") != FORMAT:
        raise ValidationError(
            f"not a Lifeboat configuration document (format must be {FORMAT!r})",
            details=[_problem("document.format", f"expected {FORMAT!r}")],
        )
    version = raw.get("version")
    if type(version) is not int or version != VERSION:
        raise ValidationError(
            f"unsupported configuration document version {version!r}: this Lifeboat reads "
            f"version {VERSION}",
            details=[_problem("document.version", f"expected {VERSION}")],
        )
    try:
        return msgspec.convert(raw, ConfigDocument, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ValidationError(
            f"invalid configuration document: {exc}",
            details=[_problem("document", str(exc))],
        ) from None


def _unique(kind: str, values: Sequence[str], what: str) -> list[dict[str, str]]:
    seen: set[str] = set()
    problems: list[dict[str, str]] = []
    for value in values:
        if value in seen:
            problems.append(_problem(f"document.{kind}", f"{what} {value!r} appears twice"))
        seen.add(value)
    return problems


def check_references(doc: ConfigDocument) -> None:
    """Refuse duplicate refs or names and references to entities the document lacks."""
    problems = [
        *_unique("databases", [d.ref for d in doc.databases], "ref"),
        *_unique("databases", [d.name.strip() for d in doc.databases], "name"),
        *_unique("s3Configs", [s.ref for s in doc.s3_configs], "ref"),
        *_unique("s3Configs", [s.name.strip() for s in doc.s3_configs], "name"),
        *_unique("retentionPolicies", [p.ref for p in doc.retention_policies], "ref"),
        *_unique("retentionPolicies", [p.name.strip() for p in doc.retention_policies], "name"),
        *_unique("schedules", [s.ref for s in doc.schedules], "ref"),
    ]
    databases = {d.ref for d in doc.databases}
    s3_configs = {s.ref for s in doc.s3_configs}
    policies = {p.ref for p in doc.retention_policies}
    for i, s in enumerate(doc.schedules):
        where = f"document.schedules.{i}"
        if s.database not in databases:
            problems.append(_problem(f"{where}.database", f"unknown database ref {s.database!r}"))
        if s.s3_config is not None and s.s3_config not in s3_configs:
            problems.append(
                _problem(f"{where}.s3Config", f"unknown S3 configuration ref {s.s3_config!r}")
            )
        if s.retention_policy is not None and s.retention_policy not in policies:
            problems.append(
                _problem(
                    f"{where}.retentionPolicy",
                    f"unknown retention policy ref {s.retention_policy!r}",
                )
            )
        if not s.store_locally and not s.s3_upload_enabled:
            problems.append(_problem(f"{where}.storeLocally", "false needs s3UploadEnabled"))
    for key, value in doc.settings.items():
        if not _SETTING_KEY.match(key) or key.startswith(_INTERNAL):
            problems.append(_problem(f"document.settings.{key}", "not an importable setting"))
        elif value is None:
            problems.append(_problem(f"document.settings.{key}", "null is not a setting value"))
    if problems:
        raise ValidationError(
            f"the configuration document is inconsistent: {problems[0]['message']}",
            details=problems,
        )


async def open_secrets(doc: ConfigDocument, passphrase: str | None) -> dict[str, str]:
    """Every sealed secret in clear, keyed by its document context (kept in memory only).

    Raises:
        ValidationError: no or a wrong passphrase, or a secret that does not open.
    """
    if doc.secrets == "omitted":
        return {}
    enc = doc.encryption
    if enc is None:
        raise ValidationError(
            "the document says it holds secrets but has no encryption parameters",
            details=[_problem("document.encryption", "required when secrets are included")],
        )
    if not passphrase:
        raise ValidationError(
            "this document holds encrypted secrets: give the passphrase it was exported with",
            details=[_problem("passphrase", "required")],
        )
    try:
        salt = PassphraseBox.salt_of(enc.salt)
        box = await asyncio.to_thread(PassphraseBox, passphrase, salt, n=enc.n, r=enc.r, p=enc.p)
    except ValueError as exc:
        field = "passphrase" if "passphrase" in str(exc) else "document.encryption"
        raise ValidationError(
            f"cannot derive the key: {exc}", details=[_problem(field, str(exc))]
        ) from None
    if not box.matches(enc.check):
        raise ValidationError(
            "wrong passphrase: the document's secrets do not open with it",
            details=[_problem("passphrase", "wrong passphrase")],
        )
    wanted: list[tuple[str, str]] = []
    for d in doc.databases:
        if d.password is not None:
            wanted.append((_db_context(d.ref), d.password))
    for s in doc.s3_configs:
        if s.access_key_id is not None:
            wanted.append((_s3_context(s.ref, "accessKeyId"), s.access_key_id))
        if s.secret_access_key is not None:
            wanted.append((_s3_context(s.ref, "secretAccessKey"), s.secret_access_key))
    plain: dict[str, str] = {}
    for context, sealed in wanted:
        try:
            plain[context] = box.open(sealed, context=context)
        except DecryptionError:
            raise ValidationError(
                f"the secret {context} does not open: the document was altered",
                details=[_problem(f"document.{context.split(':')[0]}", "does not open")],
            ) from None
    return plain


async def check_s3(ctx: ApiContext, doc: ConfigDocument) -> None:
    """Each S3 configuration as S3 settings, and its endpoint through the SSRF guard (the
    document's own ``allow_private_endpoints`` counts, since it is imported with it)."""
    allow_private = await allow_private_endpoints(ctx) or (
        doc.settings.get(ALLOW_PRIVATE_ENDPOINTS) is True
    )
    problems: list[dict[str, str]] = []
    for i, s in enumerate(doc.s3_configs):
        where = f"document.s3Configs.{i}"
        try:
            S3Settings(
                bucket=s.bucket,
                access_key_id=_PLACEHOLDER,
                secret_access_key=_PLACEHOLDER,
                region=s.region,
                endpoint_url=s.endpoint,
                path_prefix=s.path_prefix,
                addressing_style=s.addressing_style,
                part_size_bytes=s.part_size_bytes,
                concurrency=s.concurrency,
                storage_class=s.storage_class,
                sse=s.sse,
                sse_kms_key_id=s.sse_kms_key_id,
                checksum_mode=s.checksum_mode,
            )
            if s.endpoint is not None and s.endpoint != ctx.settings.s3.endpoint:
                await asyncio.to_thread(check_outbound_url, s.endpoint, allow_private)
        except ValidationError as exc:
            problems.append(_problem(where, exc.message))
    if problems:
        raise ValidationError(
            f"S3 configuration refused: {problems[0]['message']}", details=problems
        )


def _policy_row(ctx: ApiContext, p: RetentionPolicyDoc, policy_id: str) -> RetentionPolicy:
    now = utcnow()
    row = RetentionPolicy(
        id=policy_id,
        name=p.name.strip(),
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
        created_at=now,
        updated_at=now,
    )
    validate_timezone(p.timezone)
    policy_of(row)
    check_hard_limit(row, ctx.settings.max_backup_retention_days)
    return row


def _encode_setting(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int | float):
        return repr(value), "number"
    if isinstance(value, str):
        return value, "string"
    return json.dumps(value), "json"


# --- import: the write ----------------------------------------------------------------------


class _DryRun(Exception):
    """Raised inside the write transaction of a dry run to roll it back."""


class _Plan:
    """What the import did so far (and the schedules to publish once committed)."""

    def __init__(self) -> None:
        self.items: list[ConfigImportItem] = []
        self.schedules: list[BackupSchedule] = []
        self.conflicts: list[dict[str, str]] = []


async def _existing(session: AsyncSession, model: Any, name: str) -> str | None:
    found: str | None = await session.scalar(select(model.id).where(model.name == name))
    return found


async def _write(
    ctx: ApiContext, session: AsyncSession, doc: ConfigDocument, plain: dict[str, str], skip: bool
) -> _Plan:
    plan = _Plan()
    now = utcnow()
    ids: dict[tuple[str, str], str] = {}  # (kind, ref) -> id in this install
    kept: set[tuple[str, str]] = set()  # (kind, ref) of entities that existed and were kept

    async def conflict(kind: str, label: str, model: Any, name: str, ref: str) -> bool:
        existing = await _existing(session, model, name)
        if existing is None:
            return False
        if skip:
            ids[(kind, ref)] = existing
            kept.add((kind, ref))
            plan.items.append(
                ConfigImportItem(
                    kind=kind,  # type: ignore[arg-type]
                    name=name,
                    action="skip",
                    id=existing,
                    reason=f"a {label} named {name!r} already exists (kept as it is)",
                )
            )
        else:
            plan.conflicts.append(
                _problem(f"document.{kind}", f"a {label} named {name!r} already exists")
            )
        return True

    for p in doc.retention_policies:
        name = p.name.strip()
        if await conflict("retentionPolicy", "retention policy", RetentionPolicy, name, p.ref):
            continue
        row = _policy_row(ctx, p, new_id())
        session.add(row)
        ids[("retentionPolicy", p.ref)] = row.id
        plan.items.append(
            ConfigImportItem(kind="retentionPolicy", name=name, action="create", id=row.id)
        )

    default_id: str | None = None
    for s in doc.s3_configs:
        name = s.name.strip()
        if await conflict("s3Config", "S3 configuration", S3Config, name, s.ref):
            continue
        config_id = new_id()
        access = plain.get(_s3_context(s.ref, "accessKeyId"))
        secret = plain.get(_s3_context(s.ref, "secretAccessKey"))
        has_keys = access is not None and secret is not None
        session.add(
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
                enabled=s.enabled and has_keys,
                is_default=False,
                access_key_id_encrypted=(
                    ctx.box.encrypt(access, context=access_key_context(config_id))
                    if access is not None
                    else ""
                ),
                secret_access_key_encrypted=(
                    ctx.box.encrypt(secret, context=secret_key_context(config_id))
                    if secret is not None
                    else ""
                ),
            )
        )
        if s.is_default:
            default_id = config_id
        ids[("s3Config", s.ref)] = config_id
        plan.items.append(
            ConfigImportItem(
                kind="s3Config", name=name, action="create", id=config_id, needs_secret=not has_keys
            )
        )
    await session.flush()
    if default_id is not None:
        has_default = await session.scalar(
            select(S3Config.id).where(S3Config.is_default.is_(True), S3Config.id != default_id)
        )
        if has_default is None:
            await session.execute(
                update(S3Config).where(S3Config.id == default_id).values(is_default=True)
            )

    for d in doc.databases:
        name = d.name.strip()
        if await conflict("database", "database", DatabaseConfig, name, d.ref):
            continue
        config_id = new_id()
        password = plain.get(_db_context(d.ref))
        missing = d.has_password and password is None
        session.add(
            DatabaseConfig(
                id=config_id,
                name=name,
                type=d.type,
                host=d.host,
                port=d.port,
                database_name=d.database_name,
                username=d.username,
                password_encrypted=(
                    ctx.box.encrypt(password, context=password_context(config_id))
                    if password
                    else ""
                ),
                docker_container_name=d.docker_container_name,
                enabled=d.enabled and not missing,
                queue=d.queue,
            )
        )
        ids[("database", d.ref)] = config_id
        plan.items.append(
            ConfigImportItem(
                kind="database",
                name=name,
                action="create",
                id=config_id,
                needs_secret=missing,
                reason="password omitted from the export: set it, then enable" if missing else None,
            )
        )
    await session.flush()

    db_names = {d.ref: d.name.strip() for d in doc.databases}
    for s in doc.schedules:
        db_id = ids.get(("database", s.database))
        label = f"{s.schedule_type} schedule of {db_names[s.database]}"
        if db_id is None or ("database", s.database) in kept:
            plan.items.append(
                ConfigImportItem(
                    kind="schedule",
                    name=label,
                    action="skip",
                    id=None,
                    reason="its database already existed and was kept",
                )
            )
            continue
        cron = resolve_cron(s.schedule_type, s.cron_expression)
        validate_timezone(s.timezone)
        row = BackupSchedule(
            id=new_id(),
            database_config_id=db_id,
            schedule_type=s.schedule_type,
            cron_expression=cron,
            timezone=s.timezone,
            enabled=s.enabled,
            s3_upload_enabled=s.s3_upload_enabled,
            s3_config_id=ids.get(("s3Config", s.s3_config)) if s.s3_config else None,
            store_locally=s.store_locally,
            retention_policy_id=(
                ids.get(("retentionPolicy", s.retention_policy)) if s.retention_policy else None
            ),
            compression=s.compression,
            retry_count=s.retry_count,
            retry_delay_seconds=s.retry_delay_seconds,
            active_since=now,
            created_at=now,
            updated_at=now,
        )
        row.next_run_at = next_run(row, now)
        session.add(row)
        plan.schedules.append(row)
        plan.items.append(ConfigImportItem(kind="schedule", name=label, action="create", id=row.id))

    for key, value in doc.settings.items():
        raw, value_type = _encode_setting(value)
        setting = await session.get(SystemSetting, key)
        if setting is None:
            session.add(SystemSetting(key=key, value=raw, value_type=value_type))
        elif skip:  # keep what exists, settings included
            if (setting.value, setting.value_type) != (raw, value_type):
                plan.items.append(
                    ConfigImportItem(
                        kind="setting",
                        name=key,
                        action="skip",
                        id=None,
                        reason="already set here (kept as it is)",
                    )
                )
            continue
        else:
            setting.value, setting.value_type = raw, value_type
        plan.items.append(ConfigImportItem(kind="setting", name=key, action="set", id=None))
    if plan.conflicts:
        raise ConflictError(
            f"{len(plan.conflicts)} name(s) of the document already exist: "
            f"{plan.conflicts[0]['message']} (nothing was imported; use onConflict=skip to keep "
            "them and import the rest)",
            details=plan.conflicts,
        )
    await session.flush()
    return plan


async def import_config(ctx: ApiContext, data: ConfigImportIn) -> ConfigImportOut:
    """Check the document, then create everything in one transaction (or nothing)."""
    doc = parse_document(data.document)
    check_references(doc)
    await check_s3(ctx, doc)
    plain = await open_secrets(doc, data.passphrase)
    plan: _Plan | None = None
    try:
        async with ctx.db.write() as session:
            plan = await _write(ctx, session, doc, plain, data.on_conflict == "skip")
            if data.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except LifeboatError:
        raise
    assert plan is not None
    if not data.dry_run:
        for row in plan.schedules:
            await publish(ctx, row)
        log.info(
            "configuration imported: %d created, %d skipped",
            sum(1 for i in plan.items if i.action == "create"),
            sum(1 for i in plan.items if i.action == "skip"),
        )
    return ConfigImportOut(
        dry_run=data.dry_run,
        created=sum(1 for i in plan.items if i.action == "create"),
        skipped=sum(1 for i in plan.items if i.action == "skip"),
        items=plan.items,
    )
