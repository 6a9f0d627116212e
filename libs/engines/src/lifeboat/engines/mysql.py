"""MySQL/MariaDB command lines, option files and the dump filter, as pure functions (no I/O).

Host, port, user and password go in a 0600 option file handed to the tools as their first
argument (``--defaults-extra-file`` is only honoured there); the database name follows ``--``
or is the value of ``--database=``, so it never becomes an option.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

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

_OPTION_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "'": "\\'",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
}


def option_quote(value: str) -> str:
    r"""A double-quoted option-file value.

    The client library strips the quotes and undoes ``\\ \" \' \n \r \t \b``; quoting also
    keeps ``#`` from starting a comment and preserves leading/trailing spaces.
    """
    if "\x00" in value:
        raise ValueError("option values cannot contain NUL")
    return '"' + "".join(_OPTION_ESCAPES.get(ch, ch) for ch in value) + '"'


def option_file_content(conn: Connection) -> str:
    """The ``[client]`` option file with every connection fact of `conn`."""
    return (
        "[client]\n"
        f"host={option_quote(conn.host)}\n"
        f"port={int(conn.port)}\n"
        f"user={option_quote(conn.username)}\n"
        f"password={option_quote(conn.password)}\n"
    )


def quote_ident(name: str) -> str:
    """A backtick-quoted identifier (embedded backticks doubled)."""
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL")
    return "`" + name.replace("`", "``") + "`"


def _common(option_file: str, extra: Sequence[str] = ()) -> list[str]:
    # --defaults-extra-file must be the very first argument or the client ignores it.
    return [
        f"--defaults-extra-file={option_file}",
        "--protocol=TCP",
        "--default-character-set=utf8mb4",
        *extra,
    ]


def dump_argv(
    mysqldump: str, option_file: str, database: str, *, extra: Sequence[str] = ()
) -> list[str]:
    """``mysqldump`` of one database to stdout, consistent without locking InnoDB tables.

    `extra` options go with the connection options (see :meth:`MySqlEngine.tls_args`).
    """
    return [
        mysqldump,
        *_common(option_file, extra),
        "--single-transaction",
        "--skip-lock-tables",
        "--quick",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        "--no-tablespaces",
        "--",
        database,
    ]


def client_argv(
    mysql: str, option_file: str, database: str | None = None, *, extra: Sequence[str] = ()
) -> list[str]:
    """``mysql`` reading SQL from stdin in batch mode, stopping at the first error.

    ``--binary-mode`` also disables client commands such as ``system`` (except
    ``DELIMITER``), so a crafted dump cannot run shell commands on the executor.
    """
    argv = [
        mysql,
        *_common(option_file, extra),
        "--batch",
        "--skip-column-names",
        "--binary-mode",
    ]
    if database is not None:
        argv.append(f"--database={database}")
    return argv


def restore_argv(
    mysql: str,
    option_file: str,
    database: str,
    *,
    exit_on_error: bool = True,
    extra: Sequence[str] = (),
) -> list[str]:
    """``mysql`` loading a dump from stdin into `database`; ``--force`` goes on past errors."""
    argv = client_argv(mysql, option_file, database, extra=extra)
    if not exit_on_error:
        argv.append("--force")
    return argv


def drop_and_recreate_sql(database: str) -> str:
    """SQL replacing `database` by an empty utf8mb4 database."""
    ident = quote_ident(database)
    return f"DROP DATABASE IF EXISTS {ident};\nCREATE DATABASE {ident} CHARACTER SET utf8mb4;\n"


PROBE_SQL = (
    "SELECT VERSION();\n"
    "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables"
    " WHERE table_schema = DATABASE();\n"
)


def parse_probe_output(text: str) -> tuple[str, int]:
    """Server version and database size from the output of :data:`PROBE_SQL`."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError(f"unexpected probe output: {text[:200]!r}")
    return lines[0], int(float(lines[1]))


# --- filtering mysqldump output for schema-only / data-only restores ---------------------------

_VERSIONED_SET = re.compile(rb"^/\*![0-9]+ SET ")
_DATA_STATEMENTS = (
    b"INSERT INTO ",
    b"LOCK TABLES ",
    b"UNLOCK TABLES",
    b"SET ",
)
_KEYS_TOGGLE = re.compile(rb"^/\*!40000 ALTER TABLE .* (DISABLE|ENABLE) KEYS \*/;$")


def _is_standalone(line: bytes) -> bool:
    """Lines that are complete on their own without a ``;``: blanks, comments, sandbox marker."""
    return not line or line.startswith((b"-- ", b"/*M!")) or line == b"--"


def _keep_for_data(first_line: bytes) -> bool:
    return (
        first_line.startswith(_DATA_STATEMENTS)
        or _VERSIONED_SET.match(first_line) is not None
        or _KEYS_TOGGLE.match(first_line) is not None
    )


class DumpFilter:
    """Line-by-line filter of mysqldump output for schema-only / data-only restores.

    mysqldump escapes line breaks inside strings, so a statement ends at the first line that
    ends with ``;``; stored-program bodies sit between ``DELIMITER ;;`` and ``DELIMITER ;``.

    * schema-only drops the ``INSERT INTO`` statements;
    * data-only keeps only ``SET``, ``LOCK``/``UNLOCK TABLES``, ``ALTER TABLE ... KEYS`` and
      ``INSERT INTO`` statements, dropping every ``CREATE``/``DROP`` and ``DELIMITER`` block
      (triggers, routines, events).
    """

    def __init__(self, *, schema_only: bool, data_only: bool) -> None:
        flags = RestorePlan(schema_only=schema_only, data_only=data_only)
        raise_on_problems(restore_option_problems(flags))
        self._data_only = data_only
        self._active = schema_only or data_only
        self._in_delimiter_block = False
        self._in_statement = False
        self._keep_statement = True
        self._track_end = False

    def begin(self, head: bytes) -> bool:
        """Whether the line starting with `head` goes to the client (call :meth:`end` after)."""
        self._track_end = False
        if not self._active:
            return True
        line = head.rstrip(b"\r\n")
        if self._in_delimiter_block:
            if line.strip() == b"DELIMITER ;":
                self._in_delimiter_block = False
            return not self._data_only
        if not self._in_statement:
            if line.startswith(b"DELIMITER "):
                self._in_delimiter_block = line.strip() != b"DELIMITER ;"
                return not self._data_only
            if _is_standalone(line):
                return True
            if self._data_only:
                self._keep_statement = _keep_for_data(line)
            else:
                self._keep_statement = not line.startswith(b"INSERT INTO ")
            self._in_statement = True
        self._track_end = True
        return self._keep_statement

    def end(self, tail: bytes) -> None:
        """Close the current line, whose last bytes are `tail`."""
        if self._track_end and tail.rstrip(b"\r\n").rstrip().endswith(b";"):
            self._in_statement = False
        self._track_end = False

    def keep(self, raw: bytes) -> bool:
        """Whether the complete line `raw` goes to the client."""
        decision = self.begin(raw)
        self.end(raw)
        return decision


def filter_dump(lines: Iterable[bytes], *, schema_only: bool, data_only: bool) -> Iterator[bytes]:
    """The lines of mysqldump output that :class:`DumpFilter` keeps."""
    dump_filter = DumpFilter(schema_only=schema_only, data_only=data_only)
    return (line for line in lines if dump_filter.keep(line))


# --- census: row counts and schema object counts (backup time and verification) ----------------

SNAPSHOT_BEGIN_SQL = (
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n"
    "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;\n"
)
"""Opens the consistent-snapshot transaction the counts run in, right before mysqldump opens
its own (``--single-transaction``); MySQL cannot share a snapshot between sessions."""

LIST_TABLES_SQL = (
    "SELECT HEX(TABLE_NAME) FROM information_schema.TABLES"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME;\n"
)
"""The base tables of the current database, hex-encoded (any name survives batch output)."""

_OBJECT_QUERIES = {
    "tables": "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
    " AND TABLE_TYPE = 'BASE TABLE'",
    "views": "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'VIEW'",
    "sequences": "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
    " AND TABLE_TYPE = 'SEQUENCE'",
    "functions": "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
    " AND ROUTINE_TYPE = 'FUNCTION'",
    "procedures": "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
    " AND ROUTINE_TYPE = 'PROCEDURE'",
    "triggers": "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
    "events": "information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
}

OBJECTS_SQL = (
    "SELECT "
    + ", ".join(f"(SELECT COUNT(*) FROM {where})" for where in _OBJECT_QUERIES.values())
    + ";\n"
)
"""One tab-separated line of schema object counts, in the order of :data:`OBJECT_KINDS`."""

OBJECT_KINDS = tuple(_OBJECT_QUERIES)


def table_names(lines: list[str]) -> list[str]:
    """Table names from the hex lines :data:`LIST_TABLES_SQL` printed."""
    try:
        return [bytes.fromhex(line.strip()).decode("utf-8") for line in lines if line.strip()]
    except ValueError as exc:
        raise ValueError(f"unexpected table list: {exc}") from exc


def count_rows_sql(tables: list[str]) -> str:
    """One ``SELECT COUNT(*)`` per table (one line of output each, in order)."""
    return "".join(f"SELECT COUNT(*) FROM {quote_ident(name)};\n" for name in tables)


def parse_objects(line: str) -> dict[str, int]:
    """The object counts from the line :data:`OBJECTS_SQL` printed."""
    values = line.strip().split("\t")
    if len(values) != len(OBJECT_KINDS):
        raise ValueError(f"unexpected object counts: {line[:200]!r}")
    return {kind: int(value) for kind, value in zip(OBJECT_KINDS, values, strict=True)}


def session_argv(mysql: str, option_file: str, database: str) -> list[str]:
    """``mysql`` kept open as a session: :func:`client_argv`, flushing after every query."""
    return [*client_argv(mysql, option_file, database), "--unbuffered"]


def create_database_sql(database: str) -> str:
    """SQL creating `database`; fails if it exists (never reuses one)."""
    return f"CREATE DATABASE {quote_ident(database)} CHARACTER SET utf8mb4;\n"


def drop_database_sql(database: str) -> str:
    """SQL dropping `database` if it exists."""
    return f"DROP DATABASE IF EXISTS {quote_ident(database)};\n"


def list_databases_sql(prefix: str) -> str:
    """SQL listing the databases whose name starts with `prefix` (letters, digits, ``_``)."""
    if re.fullmatch(r"[a-z0-9_]+", prefix) is None:
        raise ValueError(f"unsafe database name prefix {prefix!r}")
    like = prefix.replace("_", "\\\\_")
    return (
        f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{like}%';\n"
    )


class MySqlEngine:
    """MySQL and MariaDB as a :class:`lifeboat.engines.base.Engine`: mysqldump SQL loaded by
    the ``mysql`` client, logins in an option file."""

    name: EngineName = "mysql"
    default_port = 3306
    dump_tool = "mysqldump"
    restore_tool = "mysql"
    client_tool = "mysql"
    artifact_format = "mysqldump-sql"
    file_extension = "sql"
    admin_database: str | None = None  # DROP/CREATE DATABASE need no database selected
    probe_sql = PROBE_SQL

    def parse_probe_output(self, text: str) -> tuple[str, int]:
        """See :func:`parse_probe_output`."""
        return parse_probe_output(text)

    def credential_file(self, conn: Connection) -> CredentialFile:
        """The ``[client]`` option file of `conn`."""
        return CredentialFile("client.cnf", option_file_content(conn))

    def credential_env(self, path: str) -> dict[str, str]:
        """Nothing: the option file is an argument (``--defaults-extra-file``)."""
        del path
        return {}

    def tls_args(self, conn: Connection) -> list[str]:
        """No TLS options yet (the client's defaults apply)."""
        del conn
        return []

    def dump_argv(self, tool: str, conn: Connection, creds: Credentials) -> list[str]:
        """See :func:`dump_argv`."""
        return dump_argv(tool, creds.file, conn.database, extra=self.tls_args(conn))

    def client_argv(
        self, tool: str, conn: Connection, creds: Credentials, database: str | None
    ) -> list[str]:
        """See :func:`client_argv`; `database` None selects none."""
        return client_argv(tool, creds.file, database, extra=self.tls_args(conn))

    def restore_option_problems(self, options: RestoreFlags) -> list[OptionProblem]:
        """The shared rules; MySQL adds none."""
        return restore_option_problems(options)

    def recreates(self, plan: RestorePlan) -> bool:
        """Also for ``clean``: mysqldump output already drops and recreates each table, but
        only a fresh database also removes views, routines, events and tables that are not
        in the dump."""
        return plan.drop_and_recreate or plan.clean

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
        """``mysql`` (see :func:`restore_argv`), behind a :class:`DumpFilter` for
        schema-only and data-only restores."""
        del sql, log
        argv = restore_argv(
            tool,
            creds.file,
            conn.database,
            exit_on_error=plan.exit_on_error,
            extra=self.tls_args(conn),
        )
        if not (plan.schema_only or plan.data_only):
            return RestoreCommand(argv)
        return RestoreCommand(
            argv, DumpFilter(schema_only=plan.schema_only, data_only=plan.data_only)
        )

    def after_restore(self, plan: RestorePlan) -> SqlStep | None:
        """Nothing."""
        del plan
        return None

    def session_argv(self, tool: str, conn: Connection, creds: Credentials) -> list[str]:
        """``mysql`` on ``conn.database`` kept open for the census (see :func:`session_argv`)."""
        return [*self.client_argv(tool, conn, creds, conn.database), "--unbuffered"]

    @property
    def census_taker(self) -> CensusTaker:
        """Counts in a consistent snapshot opened just before mysqldump's."""
        # Imported here: lifeboat.engines.census builds on this module's SQL.
        from lifeboat.engines.census import MysqlCensus

        return MysqlCensus()

    def create_database_sql(self, database: str) -> str:
        """See :func:`create_database_sql`."""
        return create_database_sql(database)

    def drop_database_sql(self, database: str) -> str:
        """See :func:`drop_database_sql`."""
        return drop_database_sql(database)

    def list_databases_sql(self, prefix: str) -> str:
        """See :func:`list_databases_sql`."""
        return list_databases_sql(prefix)


ENGINE = MySqlEngine()
"""The MySQL/MariaDB engine (registered in :mod:`lifeboat.engines.registry`)."""
