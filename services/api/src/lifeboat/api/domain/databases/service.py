"""Database configurations: CRUD, password encryption, connection checks (through an executor)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.connection_check import ProbeTarget, probe
from lifeboat.api.context import ApiContext
from lifeboat.api.db.models import (
    ACTIVE_STATUSES,
    BackupExecution,
    DatabaseConfig,
    ExecutionLog,
    RestoreExecution,
    new_id,
)
from lifeboat.api.domain.common import EngineName
from lifeboat.api.domain.databases.schemas import (
    ConnectionTestOut,
    DatabaseCreate,
    DatabaseOut,
    DatabaseUpdate,
    DiscoverOut,
)
from lifeboat.api.domain.notifications.overdue import Watch, set_override, watches
from lifeboat.core.errors import ConflictError, NotFoundError, ValidationError
from lifeboat.core.naming import Engine
from lifeboat.engines.registry import ENGINE_NAMES, engine_for
from lifeboat.wire import subjects
from lifeboat.wire.messages import Target

_CONNECTION_FIELDS = ("type", "host", "port", "database_name", "username", "password", "queue")


def password_context(config_id: str) -> str:
    """The associated data binding a stored password to its row."""
    return f"database_configs.password:{config_id}"


def to_out(row: DatabaseConfig) -> DatabaseOut:
    """The REST view of a row (never the password)."""
    engine: EngineName = engine_of(row)
    return DatabaseOut(
        id=row.id,
        name=row.name,
        type=engine,
        host=row.host,
        port=row.port,
        database_name=row.database_name,
        username=row.username,
        docker_container_name=row.docker_container_name,
        enabled=row.enabled,
        queue=row.queue,
        has_password=row.password_encrypted != "",
        created_at=row.created_at,
        updated_at=row.updated_at,
        verification_database_id=row.verification_database_id,
    )


def _watched(out: DatabaseOut, watch: Watch | None, now: datetime) -> DatabaseOut:
    """`out` with the dead man's switch's view of its database."""
    if watch is not None:
        out.overdue = watch.overdue(now)
        out.last_good_backup_at = watch.last_good
        if watch.expected is not None:
            out.expected_backup_age_hours = round(watch.expected.total_seconds() / 3600, 2)
        if watch.override_seconds is not None:
            out.max_backup_age_hours = watch.override_seconds // 3600
    return out


async def _view(ctx: ApiContext, session: AsyncSession, row: DatabaseConfig) -> DatabaseOut:
    now = ctx.clock()
    return _watched(to_out(row), (await watches(session, now)).get(row.id), now)


def decrypt_password(ctx: ApiContext, row: DatabaseConfig) -> str:
    """The stored password in clear ("" when none); keep it in memory only."""
    if row.password_encrypted == "":
        return ""
    return ctx.box.decrypt(row.password_encrypted, context=password_context(row.id))


def engine_of(row: DatabaseConfig) -> Engine:
    """The row's engine as the wire type."""
    return engine_for(row.type).name


def sealed_target(ctx: ApiContext, row: DatabaseConfig, *, bound_to: str) -> Target:
    """The job-message form of database `row`, its password sealed for execution `bound_to`
    (only an executor holding EXECUTOR_SEAL_KEY opens it, for that execution only)."""
    return Target(
        engine=engine_of(row),
        host=row.host,
        port=row.port,
        database=row.database_name,
        username=row.username,
        sealed_password=ctx.sealer.seal(decrypt_password(ctx, row), bound_to=bound_to),
    )


async def load(session: AsyncSession, config_id: str) -> DatabaseConfig:
    """The configuration `config_id`, or NotFoundError."""
    row = await session.get(DatabaseConfig, config_id)
    if row is None:
        raise NotFoundError(f"database {config_id} not found", details={"id": config_id})
    return row


async def load_by_name(session: AsyncSession, name: str) -> DatabaseConfig:
    """The configuration named `name`, or NotFoundError."""
    row = await session.scalar(select(DatabaseConfig).where(DatabaseConfig.name == name))
    if row is None:
        raise NotFoundError(f"no database named {name!r}", details={"database": name})
    return row


async def _check_name_free(
    session: AsyncSession, name: str, *, except_id: str | None = None
) -> None:
    query = select(DatabaseConfig.id).where(DatabaseConfig.name == name)
    if except_id is not None:
        query = query.where(DatabaseConfig.id != except_id)
    if await session.scalar(query) is not None:
        raise ConflictError(f"a database named {name!r} already exists", details={"name": name})


async def list_databases(
    ctx: ApiContext, *, engine: EngineName | None, enabled: bool | None
) -> list[DatabaseOut]:
    """Every configuration, filtered by type and enabled flag, by name."""
    query = select(DatabaseConfig).order_by(DatabaseConfig.name)
    if engine is not None:
        query = query.where(DatabaseConfig.type == engine)
    if enabled is not None:
        query = query.where(DatabaseConfig.enabled == enabled)
    async with ctx.db.read() as session:
        rows = (await session.scalars(query)).all()
        now = ctx.clock()
        watched = await watches(session, now)
    return [_watched(to_out(row), watched.get(row.id), now) for row in rows]


async def get_database(ctx: ApiContext, config_id: str) -> DatabaseOut:
    """One configuration."""
    async with ctx.db.read() as session:
        return await _view(ctx, session, await load(session, config_id))


async def _verify_connection(ctx: ApiContext, target: ProbeTarget) -> None:
    outcome = await probe(ctx, target)
    if not outcome.reply.ok:
        reason = outcome.reply.error or "the connection failed"
        raise ValidationError(
            f"connection test failed: {reason}",
            details={"connectionTest": reason, "executorId": outcome.reply.executor_id or None},
        )


async def create_database(ctx: ApiContext, data: DatabaseCreate) -> DatabaseOut:
    """Validate, probe (unless skipped), encrypt the password and store a configuration."""
    name = data.name.strip()
    subjects.check_queue(data.queue)
    async with ctx.db.read() as session:
        await _check_name_free(session, name)
    if not data.skip_connection_test:
        await _verify_connection(
            ctx,
            ProbeTarget(
                engine=data.type,
                host=data.host,
                port=data.port,
                database=data.database_name,
                username=data.username,
                password=data.password,
                queue=data.queue,
            ),
        )
    config_id = new_id()
    row = DatabaseConfig(
        id=config_id,
        name=name,
        type=data.type,
        host=data.host,
        port=data.port,
        database_name=data.database_name,
        username=data.username,
        password_encrypted=(
            ctx.box.encrypt(data.password, context=password_context(config_id))
            if data.password
            else ""
        ),
        docker_container_name=data.docker_container_name,
        enabled=data.enabled,
        queue=data.queue,
    )
    async with ctx.db.write() as session:
        await _check_name_free(session, name)  # again, under the write lock
        session.add(row)
        await session.flush()
        if data.max_backup_age_hours is not None:
            await set_override(session, config_id, data.max_backup_age_hours)
        return await _view(ctx, session, row)


async def update_database(ctx: ApiContext, config_id: str, data: DatabaseUpdate) -> DatabaseOut:
    """Apply a partial update; a changed connection is probed unless skipped."""
    async with ctx.db.read() as session:
        current = await load(session, config_id)
        password = decrypt_password(ctx, current)
    new_name = current.name if data.name is msgspec.UNSET else data.name.strip()
    if new_name != current.name:
        async with ctx.db.read() as session:
            await _check_name_free(session, new_name, except_id=config_id)
    changes = {
        field: getattr(data, field)
        for field in (*_CONNECTION_FIELDS, "docker_container_name", "enabled")
        if getattr(data, field) is not msgspec.UNSET
    }
    if "queue" in changes:
        subjects.check_queue(changes["queue"])
    connection_changed = any(
        field in changes and (field == "password" or changes[field] != getattr(current, field))
        for field in _CONNECTION_FIELDS
    )
    new_password: str = changes.get("password", password)
    if connection_changed and not data.skip_connection_test:
        engine: Engine = changes.get("type", engine_of(current))
        await _verify_connection(
            ctx,
            ProbeTarget(
                engine=engine,
                host=changes.get("host", current.host),
                port=changes.get("port", current.port),
                database=changes.get("database_name", current.database_name),
                username=changes.get("username", current.username),
                password=new_password,
                queue=changes.get("queue", current.queue),
            ),
        )
    async with ctx.db.write() as session:
        row = await load(session, config_id)
        if new_name != row.name:
            await _check_name_free(session, new_name, except_id=config_id)
            row.name = new_name
        for field, value in changes.items():
            if field == "password":
                row.password_encrypted = (
                    ctx.box.encrypt(value, context=password_context(config_id)) if value else ""
                )
            else:
                setattr(row, field, value)
        if not isinstance(data.max_backup_age_hours, msgspec.UnsetType):
            await set_override(session, config_id, data.max_backup_age_hours)
        await session.flush()
        await session.refresh(row)
        return await _view(ctx, session, row)


async def delete_database(ctx: ApiContext, config_id: str) -> None:
    """Delete a configuration and (cascade) its schedules and execution records.

    Refused while one of its backups or restores is pending or running. Backup files stay on
    disk (their manifests let a later install rebuild the history).
    """
    async with ctx.db.write() as session:
        await load(session, config_id)
        busy = await session.scalar(
            select(
                exists().where(
                    BackupExecution.database_config_id == config_id,
                    BackupExecution.status.in_(ACTIVE_STATUSES),
                )
                | exists().where(
                    RestoreExecution.database_config_id == config_id,
                    RestoreExecution.status.in_(ACTIVE_STATUSES),
                )
            )
        )
        if busy:
            raise ConflictError(
                "a backup or restore of this database is pending or running",
                details={"id": config_id},
            )
        backup_ids = select(BackupExecution.id).where(
            BackupExecution.database_config_id == config_id
        )
        restore_ids = select(RestoreExecution.id).where(
            RestoreExecution.database_config_id == config_id
        )
        await session.execute(
            delete(ExecutionLog).where(
                ExecutionLog.execution_id.in_(backup_ids)
                | ExecutionLog.execution_id.in_(restore_ids)
            )
        )
        await session.execute(delete(DatabaseConfig).where(DatabaseConfig.id == config_id))


async def check_connection(ctx: ApiContext, config_id: str) -> ConnectionTestOut:
    """Probe a stored configuration through an executor of its queue."""
    async with ctx.db.read() as session:
        row = await load(session, config_id)
    outcome = await probe(
        ctx,
        ProbeTarget(
            engine=engine_of(row),
            host=row.host,
            port=row.port,
            database=row.database_name,
            username=row.username,
            password=decrypt_password(ctx, row),
            queue=row.queue,
        ),
    )
    reply = outcome.reply
    return ConnectionTestOut(
        connected=reply.ok,
        server_version=reply.server_version,
        database_size_bytes=reply.database_size_bytes,
        latency_ms=outcome.latency_ms,
        error=None if reply.ok else (reply.error or "the connection failed"),
        executor_id=reply.executor_id or None,
    )


def discover() -> DiscoverOut:
    """Docker auto-discovery is not wired up yet; say so plainly."""
    return DiscoverOut(configured=False, databases=[], message="auto-discovery is not configured")


async def count_databases(session: AsyncSession) -> dict[str, int]:
    """Totals for the stats page."""
    rows = (
        await session.execute(
            select(DatabaseConfig.type, DatabaseConfig.enabled, func.count()).group_by(
                DatabaseConfig.type, DatabaseConfig.enabled
            )
        )
    ).all()
    totals = {"total": 0, "enabled": 0, **dict.fromkeys(ENGINE_NAMES, 0)}
    for engine, enabled, count in rows:
        totals["total"] += count
        totals[engine] = totals.get(engine, 0) + count
        if enabled:
            totals["enabled"] += count
    return totals
