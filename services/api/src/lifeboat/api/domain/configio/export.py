"""Configuration export: every database, S3, retention and schedule configuration and the
system settings as a :class:`ConfigDocument`. Each secret is decrypted with the install's key
and, when the caller asks for secrets, sealed under their passphrase; it is never written in
clear."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from sqlalchemy import select

from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    BackupSchedule,
    DatabaseConfig,
    RetentionPolicy,
    S3Config,
    utcnow,
)
from lifeboat.api.domain.common import CompressionName
from lifeboat.api.domain.configio.checks import db_context, s3_context
from lifeboat.api.domain.configio.schemas import (
    ConfigDocument,
    ConfigExportIn,
    DatabaseDoc,
    EncryptionDoc,
    RetentionPolicyDoc,
    S3ConfigDoc,
    ScheduleDoc,
)
from lifeboat.api.domain.databases.service import decrypt_password, engine_of
from lifeboat.api.domain.s3configs.schemas import Addressing, ChecksumMode, Sse
from lifeboat.api.domain.s3configs.service import keys_of
from lifeboat.api.domain.schedules.schemas import ScheduleType
from lifeboat.api.domain.system.service import api_version, get_settings
from lifeboat.core.crypto import PassphraseBox
from lifeboat.core.errors import ValidationError
from lifeboat.policy.retention import RetentionMode


def _database_docs(
    ctx: ApiContext, rows: Sequence[DatabaseConfig], box: PassphraseBox | None
) -> list[DatabaseDoc]:
    docs: list[DatabaseDoc] = []
    for row in rows:
        has_password = row.password_encrypted != ""
        sealed = None
        if box is not None and has_password:
            sealed = box.seal(decrypt_password(ctx, row), context=db_context(row.id))
        docs.append(
            DatabaseDoc(
                ref=row.id,
                name=row.name,
                type=engine_of(row),
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
    return docs


def _s3_doc(ctx: ApiContext, s3: S3Config, box: PassphraseBox | None) -> S3ConfigDoc:
    access: str | None = None
    secret: str | None = None
    if box is not None and s3.access_key_id_encrypted and s3.secret_access_key_encrypted:
        plain_access, plain_secret = keys_of(ctx, s3)
        access = box.seal(plain_access, context=s3_context(s3.id, "accessKeyId"))
        secret = box.seal(plain_secret, context=s3_context(s3.id, "secretAccessKey"))
    return S3ConfigDoc(
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


def _policy_doc(p: RetentionPolicy) -> RetentionPolicyDoc:
    return RetentionPolicyDoc(
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


def _schedule_doc(s: BackupSchedule) -> ScheduleDoc:
    return ScheduleDoc(
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


async def _passphrase_box(data: ConfigExportIn) -> PassphraseBox | None:
    if data.secrets == "omit":
        return None
    if data.passphrase is None:
        raise ValidationError(
            "a passphrase is required to export secrets",
            details=[{"field": "passphrase", "message": "required with secrets=include"}],
        )
    return await asyncio.to_thread(PassphraseBox.new, data.passphrase)


async def export_config(ctx: ApiContext, data: ConfigExportIn) -> ConfigDocument:
    """The install's configuration as a document; secrets sealed under the passphrase, or left
    out."""
    box = await _passphrase_box(data)
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
        databases=_database_docs(ctx, databases, box),
        s3_configs=[_s3_doc(ctx, row, box) for row in s3_rows],
        retention_policies=[_policy_doc(p) for p in policies],
        schedules=[_schedule_doc(s) for s in schedules],
        settings={s.key: s.value for s in await get_settings(ctx)},
    )
