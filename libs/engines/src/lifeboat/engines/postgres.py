"""PostgreSQL command lines and credential files, as pure functions (no I/O).

Every user-given value reaches the tools as the value of a long ``--option=value``, so a name
starting with ``-`` can never become an option. The database name goes through ``--dbname``
as a quoted conninfo keyword string: libpq would otherwise parse a bare name containing ``=``
(or starting with ``postgresql://``) as connection parameters. Passwords only live in the
PGPASSFILE.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lifeboat.core.errors import DatabaseError
from lifeboat.core.naming import Engine as EngineName
from lifeboat.engines.base import (
    CredentialFile,
    Credentials,
    LogFn,
    OptionProblem,
    RestoreCommand,
    RestoreFlags,
    RestorePlan,
    SqlRunner,
    SqlStep,
    raise_on_problems,
    restore_option_problems,
)
from lifeboat.engines.common import Connection

if TYPE_CHECKING:
    from lifeboat.engines.census import CensusTaker

MAINTENANCE_DB = "postgres"
APPLICATION_NAME = "lifeboat"


def pgpass_escape(value: str) -> str:
    r"""Escape a PGPASSFILE field: ``\`` and ``:`` get a backslash."""
    return value.replace("\\", "\\\\").replace(":", "\\:")


def pgpass_content(conn: Connection) -> str:
    """The PGPASSFILE for one job.

    The database field is ``*`` because the same credentials also open the maintenance
    database for drop-and-recreate; the file exists only for this job's tools.
    """
    if "\n" in conn.password or "\r" in conn.password:
        # .pgpass is line-oriented and has no escape for line breaks.
        raise DatabaseError("PostgreSQL passwords cannot contain line breaks")
    fields = [conn.host, str(conn.port), "*", conn.username, conn.password]
    return ":".join(pgpass_escape(f) for f in fields) + "\n"


def conninfo_quote(value: str) -> str:
    r"""Quote a libpq conninfo value: single quotes, with ``\`` and ``'`` backslash-escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def dbname_arg(database: str) -> str:
    """``--dbname=dbname='<name>'``: never interpreted as a URI or as extra parameters."""
    return f"--dbname=dbname={conninfo_quote(database)}"


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (embedded quotes doubled)."""
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def _connect_args(conn: Connection, database: str, extra: Sequence[str] = ()) -> list[str]:
    return [
        f"--host={conn.host}",
        f"--port={conn.port}",
        f"--username={conn.username}",
        "--no-password",  # never prompt: a missing password is an error, not a hang
        *extra,
        dbname_arg(database),
    ]


def pg_env(pgpass_path: str) -> dict[str, str]:
    """Variables added to the parent environment for every PostgreSQL tool."""
    return {
        "PGPASSFILE": pgpass_path,
        "PGAPPNAME": APPLICATION_NAME,
        "PGCONNECT_TIMEOUT": "15",
        # Predictable messages in stderr tails, whatever the host's locale.
        "LC_MESSAGES": "C",
    }


def dump_argv(pg_dump: str, conn: Connection, *, extra: Sequence[str] = ()) -> list[str]:
    """``pg_dump -Fc -Z0`` to stdout; compression is a separate process in the pipeline.

    `extra` options go with the connection options (see :meth:`PostgresEngine.tls_args`).
    """
    return [
        pg_dump,
        "--format=custom",
        "--compress=0",
        *_connect_args(conn, conn.database, extra),
    ]


def restore_argv(
    pg_restore: str,
    conn: Connection,
    *,
    exit_on_error: bool = True,
    clean: bool = False,
    schema_only: bool = False,
    data_only: bool = False,
    no_owner: bool = False,
    disable_triggers: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """``pg_restore`` reading the archive from stdin into ``conn.database``.

    `disable_triggers` (data-only, superuser only) keeps foreign keys and user triggers from
    firing while rows are reloaded: a full archive stores table data in name order, not in
    foreign-key order.
    """
    flags = RestorePlan(clean=clean, schema_only=schema_only, data_only=data_only)
    raise_on_problems(restore_option_problems(flags))
    argv = [pg_restore, *_connect_args(conn, conn.database, extra)]
    if exit_on_error:
        argv.append("--exit-on-error")
    if clean:
        argv += ["--clean", "--if-exists"]
    if schema_only:
        argv.append("--schema-only")
    if data_only:
        argv.append("--data-only")
        if disable_triggers:
            argv.append("--disable-triggers")
    if no_owner:
        argv += ["--no-owner", "--no-privileges"]
    return argv


def psql_argv(
    psql: str, conn: Connection, *, database: str | None = None, extra: Sequence[str] = ()
) -> list[str]:
    """``psql`` reading SQL from stdin, stopping at the first error, without psqlrc."""
    return [
        psql,
        "--no-psqlrc",
        "--quiet",
        "--tuples-only",
        "--no-align",
        "--set=ON_ERROR_STOP=1",
        *_connect_args(conn, database if database is not None else conn.database, extra),
    ]


def drop_and_recreate_sql(database: str) -> str:
    """SQL (for the maintenance database, sent on stdin) that replaces `database` by an empty one.

    ``WITH (FORCE)`` (PostgreSQL 13+) disconnects the sessions still using the database.
    """
    ident = quote_ident(database)
    return f"DROP DATABASE IF EXISTS {ident} WITH (FORCE);\nCREATE DATABASE {ident};\n"


# A data-only restore loads rows but not the post-data REFRESH of materialized views, which
# would stay as they were before the rows arrived; refresh the populated ones (oid order is
# creation order, so a view built on another one comes after it).
REFRESH_MATVIEWS_SQL = """DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
             WHERE c.relkind = 'm' AND c.relispopulated ORDER BY c.oid
    LOOP
        EXECUTE format('REFRESH MATERIALIZED VIEW %s', r.name);
    END LOOP;
END
$$;
"""

IS_SUPERUSER_SQL = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user;\n"

PROBE_SQL = "SHOW server_version;\nSELECT pg_database_size(current_database());\n"


def parse_probe_output(text: str) -> tuple[str, int]:
    """Server version and database size from the output of :data:`PROBE_SQL`."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError(f"unexpected probe output: {text[:200]!r}")
    return lines[0], int(lines[1])


# --- census: row counts and schema object counts (backup time and verification) ----------------

SNAPSHOT_BEGIN_SQL = (
    "SET statement_timeout = 0;\n"
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
    "SELECT pg_export_snapshot();\n"
)
"""Opens the transaction whose snapshot pg_dump (``--snapshot``) and the counts share; the
session holding it prints the snapshot id and must stay open until both are done."""

_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$")

_USER_NS = (
    "SELECT oid FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'"
)
_RELS = "FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM user_ns)"

CENSUS_QUERY = f"""WITH user_ns AS ({_USER_NS}),
ext AS (SELECT objid FROM pg_depend WHERE deptype = 'e' AND classid = 'pg_class'::regclass),
tabs AS (SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relnamespace IN (SELECT oid FROM user_ns) AND c.relkind = 'r'
           AND c.relpersistence <> 't' AND c.oid NOT IN (SELECT objid FROM ext))
SELECT json_build_object(
  'tables', COALESCE((SELECT json_object_agg(name, (xpath('/row/n/text()', query_to_xml(
      format('SELECT count(*) AS n FROM %s', oid::regclass), false, true, '')))[1]::text::bigint)
      FROM tabs), '{{}}'::json),
  'objects', json_build_object(
    'tables', (SELECT count(*) {_RELS} AND c.relkind IN ('r', 'p') AND c.relpersistence <> 't'),
    'views', (SELECT count(*) {_RELS} AND c.relkind = 'v'),
    'materializedViews', (SELECT count(*) {_RELS} AND c.relkind = 'm'),
    'sequences', (SELECT count(*) {_RELS} AND c.relkind = 'S'),
    'indexes', (SELECT count(*) {_RELS} AND c.relkind IN ('i', 'I')),
    'functions', (SELECT count(*) FROM pg_proc p
                  WHERE p.pronamespace IN (SELECT oid FROM user_ns)),
    'triggers', (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                 WHERE NOT t.tgisinternal AND c.relnamespace IN (SELECT oid FROM user_ns))));
"""
"""One JSON line: ``{"tables": {"schema.table": rows}, "objects": {"views": n, ...}}``.

Rows are exact ``count(*)`` of every ordinary table (leaf partitions included, partitioned
parents not, to count each row once) outside the system schemas and not owned by an extension
(CREATE EXTENSION recreates those, the dump does not hold their rows)."""


def snapshot_id(text: str) -> str:
    """The exported snapshot id printed by :data:`SNAPSHOT_BEGIN_SQL` (checked: it goes into
    an argv and a SQL literal)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or _SNAPSHOT_ID.match(lines[-1]) is None:
        raise DatabaseError(f"unexpected answer to pg_export_snapshot(): {text[:200]!r}")
    return lines[-1]


def census_sql(snapshot: str | None = None) -> str:
    """The census (:data:`CENSUS_QUERY`), inside the exported `snapshot` when given."""
    begin = "SET statement_timeout = 0;\nBEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
    if snapshot is not None:
        begin += f"SET TRANSACTION SNAPSHOT '{snapshot_id(snapshot)}';\n"
    return begin + CENSUS_QUERY + "COMMIT;\n"


def create_database_sql(database: str) -> str:
    """SQL (maintenance database) creating `database`; fails if it exists (never reuses one)."""
    return f"CREATE DATABASE {quote_ident(database)};\n"


def drop_database_sql(database: str) -> str:
    """SQL (maintenance database) dropping `database`, disconnecting its sessions."""
    return f"DROP DATABASE IF EXISTS {quote_ident(database)} WITH (FORCE);\n"


def list_databases_sql(prefix: str) -> str:
    """SQL listing the databases whose name starts with `prefix` (letters, digits, ``_``)."""
    if re.fullmatch(r"[a-z0-9_]+", prefix) is None:
        raise ValueError(f"unsafe database name prefix {prefix!r}")
    like = prefix.replace("_", "\\_")
    return f"SELECT datname FROM pg_database WHERE datname LIKE '{like}%';\n"


class PostgresEngine:
    """PostgreSQL as a :class:`lifeboat.engines.base.Engine`: ``pg_dump -Fc`` archives loaded
    by ``pg_restore``, logins in a PGPASSFILE."""

    name: EngineName = "postgresql"
    default_port = 5432
    dump_tool = "pg_dump"
    restore_tool = "pg_restore"
    client_tool = "psql"
    artifact_format = "pg_dump-custom"
    file_extension = "dump"
    admin_database: str | None = MAINTENANCE_DB
    probe_sql = PROBE_SQL

    def parse_probe_output(self, text: str) -> tuple[str, int]:
        """See :func:`parse_probe_output`."""
        return parse_probe_output(text)

    def credential_file(self, conn: Connection) -> CredentialFile:
        """The PGPASSFILE of `conn`."""
        return CredentialFile("pgpass", pgpass_content(conn))

    def credential_env(self, path: str) -> dict[str, str]:
        """See :func:`pg_env`."""
        return pg_env(path)

    def tls_args(self, conn: Connection) -> list[str]:
        """No TLS options yet (libpq's defaults apply)."""
        del conn
        return []

    def dump_argv(self, tool: str, conn: Connection, creds: Credentials) -> list[str]:
        """See :func:`dump_argv` (the password comes through ``creds.env``)."""
        del creds
        return dump_argv(tool, conn, extra=self.tls_args(conn))

    def client_argv(
        self, tool: str, conn: Connection, creds: Credentials, database: str | None
    ) -> list[str]:
        """See :func:`psql_argv`; `database` None means ``conn.database``."""
        del creds
        return psql_argv(tool, conn, database=database, extra=self.tls_args(conn))

    def restore_option_problems(self, options: RestoreFlags) -> list[OptionProblem]:
        """The shared rules; PostgreSQL adds none."""
        return restore_option_problems(options)

    def recreates(self, plan: RestorePlan) -> bool:
        """Only when asked: ``clean`` is pg_restore's own ``--clean``."""
        return plan.drop_and_recreate

    def drop_and_recreate_sql(self, database: str) -> str:
        """See :func:`drop_and_recreate_sql`."""
        return drop_and_recreate_sql(database)

    async def restore_command(
        self,
        tool: str,
        conn: Connection,
        creds: Credentials,
        plan: RestorePlan,
        *,
        sql: SqlRunner,
        log: LogFn,
    ) -> RestoreCommand:
        """``pg_restore`` (see :func:`restore_argv`); a data-only restore by a superuser
        disables triggers while loading."""
        del creds
        disable_triggers = False
        if plan.data_only:
            answer = await sql(IS_SUPERUSER_SQL, database=conn.database)
            disable_triggers = answer.strip() == "t"
            if not disable_triggers:
                await log(
                    "Not a superuser: triggers and foreign keys stay active during"
                    " the data-only restore"
                )
        argv = restore_argv(
            tool,
            conn,
            exit_on_error=plan.exit_on_error,
            # After drop-and-recreate the database is empty: nothing to clean.
            clean=plan.clean and not plan.drop_and_recreate,
            schema_only=plan.schema_only,
            data_only=plan.data_only,
            no_owner=plan.no_owner,
            disable_triggers=disable_triggers,
            extra=self.tls_args(conn),
        )
        return RestoreCommand(argv)

    def after_restore(self, plan: RestorePlan) -> SqlStep | None:
        """After a data-only restore, refresh the materialized views (see
        :data:`REFRESH_MATVIEWS_SQL`)."""
        if not plan.data_only:
            return None
        return SqlStep("Refreshing materialized views", REFRESH_MATVIEWS_SQL, timeout=3600.0)

    def session_argv(self, tool: str, conn: Connection, creds: Credentials) -> list[str]:
        """``psql`` on ``conn.database`` kept open for the census (see :func:`psql_argv`)."""
        del creds
        return psql_argv(tool, conn, extra=self.tls_args(conn))

    @property
    def census_taker(self) -> CensusTaker:
        """An exported snapshot shared by pg_dump and the counting session."""
        # Imported here: lifeboat.engines.census builds on this module's SQL.
        from lifeboat.engines.census import PostgresCensus

        return PostgresCensus()

    def create_database_sql(self, database: str) -> str:
        """See :func:`create_database_sql`."""
        return create_database_sql(database)

    def drop_database_sql(self, database: str) -> str:
        """See :func:`drop_database_sql`."""
        return drop_database_sql(database)

    def list_databases_sql(self, prefix: str) -> str:
        """See :func:`list_databases_sql`."""
        return list_databases_sql(prefix)


ENGINE = PostgresEngine()
"""The PostgreSQL engine (registered in :mod:`lifeboat.engines.registry`)."""
