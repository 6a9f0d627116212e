"""The engine seam: what a database engine tells the rest of Lifeboat (:class:`Engine`).

Each engine is one module (:mod:`lifeboat.engines.postgres`, :mod:`lifeboat.engines.mysql`)
holding its pure argv/SQL builders and one object implementing :class:`Engine`; the registry
(:mod:`lifeboat.engines.registry`) maps engine names to those objects. Nothing outside these
modules branches on an engine's name: it asks ``engine_for(name)`` instead.

Also here, because every engine shares them: the restore options (:class:`RestorePlan`) and
their one set of rules (:func:`restore_option_problems`), and the credential file handed to
a job's tools (:class:`Credentials`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from lifeboat.core.errors import RestoreError
from lifeboat.core.naming import Engine as EngineName
from lifeboat.engines.common import Connection

if TYPE_CHECKING:
    from lifeboat.engines.census import CensusTaker

LogFn = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """The restore options of SPEC §5.3.3 (mirrors ``lifeboat.wire.messages.RestoreOptions``).

    What ``clean`` does is the engine's call (see :meth:`Engine.recreates`): MySQL replaces
    the database, PostgreSQL drops each object of the archive before recreating it.
    """

    drop_and_recreate: bool = False
    clean: bool = False
    schema_only: bool = False
    data_only: bool = False
    no_owner: bool = False
    exit_on_error: bool = True


class RestoreFlags(Protocol):
    """The restore options the rules look at: a :class:`RestorePlan`, the wire's
    ``RestoreOptions`` or the API's input all fit."""

    @property
    def drop_and_recreate(self) -> bool: ...
    @property
    def clean(self) -> bool: ...
    @property
    def schema_only(self) -> bool: ...
    @property
    def data_only(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class OptionProblem:
    """One contradiction between restore options.

    Attributes:
        fields: The options that conflict (wire names: ``schema_only``...), first the one
            the message is about.
        message: What is wrong, naming the options by their wire names.
    """

    fields: tuple[str, ...]
    message: str


def restore_option_problems(options: RestoreFlags) -> list[OptionProblem]:
    """The restore-option rules every engine shares (the API checks them before queueing, the
    executor again before touching anything); empty when `options` make sense."""
    problems: list[OptionProblem] = []
    if options.schema_only and options.data_only:
        problems.append(
            OptionProblem(
                ("schema_only", "data_only"), "schema_only and data_only cannot be combined"
            )
        )
    for other in ("clean", "drop_and_recreate"):
        if options.data_only and getattr(options, other):
            problems.append(
                OptionProblem(
                    ("data_only", other),
                    f"data_only loads rows into existing tables; it cannot be combined"
                    f" with {other}",
                )
            )
    return problems


def raise_on_problems(problems: list[OptionProblem]) -> None:
    """Raise the first of `problems`, if any.

    Raises:
        RestoreError: with the problem's message.
    """
    if problems:
        raise RestoreError(problems[0].message, details={"fields": list(problems[0].fields)})


@dataclass(frozen=True, slots=True)
class CredentialFile:
    """The file through which an engine's tools authenticate (see :meth:`Engine.credential_file`)."""

    name: str
    content: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a job's tools need to authenticate.

    Attributes:
        env: Variables to add to the tools' environment (e.g. ``PGPASSFILE``; never a password).
        file: Path of the 0600 credential file (MySQL hands it over as
            ``--defaults-extra-file``; PostgreSQL finds it through ``PGPASSFILE``).
        secrets: Strings to scrub from anything the tools print.
    """

    env: dict[str, str]
    file: str
    secrets: tuple[str, ...] = field(default=(), repr=False)


class SqlRunner(Protocol):
    """Runs SQL through the engine's client for a restore step; returns the plain output."""

    async def __call__(self, sql: str, /, *, database: str | None, timeout: float = 60.0) -> str:
        """Run `sql` in `database` (None: the client's default for the engine)."""
        ...


class LineFilter(Protocol):
    """Decides line by line which lines of a decompressed dump reach the loader."""

    def begin(self, head: bytes) -> bool:
        """Whether the line starting with `head` goes on (call :meth:`end` after)."""
        ...

    def end(self, tail: bytes) -> None:
        """Close the current line, whose last bytes are `tail`."""
        ...


@dataclass(frozen=True, slots=True)
class RestoreCommand:
    """How the loader runs: its argv, and the filter (None: the raw dump) between it and the
    decompressor."""

    argv: list[str]
    line_filter: LineFilter | None = None


@dataclass(frozen=True, slots=True)
class SqlStep:
    """SQL an engine runs around a restore, with what the job log says about it."""

    description: str
    sql: str
    timeout: float = 3600.0


class Engine(Protocol):
    """What one database engine implements; see README "What a new engine implements".

    The argv builders are pure (no I/O): they get tool paths, the connection and the
    credential file and return lists, so tests check them without a server.
    """

    @property
    def name(self) -> EngineName:
        """The engine's name on the wire, in the database and in the manifest."""
        ...

    @property
    def default_port(self) -> int:
        """The server's usual TCP port."""
        ...

    @property
    def dump_tool(self) -> str:
        """The tool writing a dump to stdout (``pg_dump``)."""
        ...

    @property
    def restore_tool(self) -> str:
        """The tool loading a dump from stdin (``pg_restore``)."""
        ...

    @property
    def client_tool(self) -> str:
        """The SQL client running short statements from stdin (``psql``)."""
        ...

    @property
    def artifact_format(self) -> str:
        """The dump format recorded in manifests (``pg_dump-custom``)."""
        ...

    @property
    def file_extension(self) -> str:
        """The artifact's suffix before the compression's (``dump`` in ``x.dump.zst``)."""
        ...

    @property
    def admin_database(self) -> str | None:
        """The database the client opens to drop and recreate another (None: none needed)."""
        ...

    @property
    def probe_sql(self) -> str:
        """SQL whose output :meth:`parse_probe_output` reads: server version, database size."""
        ...

    def parse_probe_output(self, text: str) -> tuple[str, int]:
        """Server version and database size in bytes from the client's answer to
        :attr:`probe_sql`.

        Raises:
            ValueError: the output is not what the query returns.
        """
        ...

    def credential_file(self, conn: Connection) -> CredentialFile:
        """The file (name and content) holding `conn`'s login for the tools."""
        ...

    def credential_env(self, path: str) -> dict[str, str]:
        """Variables the tools need besides the parent environment, given the file's path."""
        ...

    def tls_args(self, conn: Connection) -> list[str]:
        """Connection options for TLS, placed among every tool's connection options (none
        yet: the one place where TLS support goes)."""
        ...

    def dump_argv(self, tool: str, conn: Connection, creds: Credentials) -> list[str]:
        """Argv of :attr:`dump_tool` (at path `tool`) dumping ``conn.database`` to stdout,
        uncompressed (compression is the pipeline's)."""
        ...

    def client_argv(
        self, tool: str, conn: Connection, creds: Credentials, database: str | None
    ) -> list[str]:
        """Argv of :attr:`client_tool` reading SQL from stdin, stopping at the first error."""
        ...

    def restore_option_problems(self, options: RestoreFlags) -> list[OptionProblem]:
        """The contradictions in `options` (the shared :func:`restore_option_problems`, plus
        any of the engine's own)."""
        ...

    def recreates(self, plan: RestorePlan) -> bool:
        """Whether the restore starts by dropping and recreating the database."""
        ...

    def drop_and_recreate_sql(self, database: str) -> str:
        """SQL (run in :attr:`admin_database`) replacing `database` by an empty one."""
        ...

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
        """How :attr:`restore_tool` (at path `tool`) loads the dump into ``conn.database``.

        May ask the server first through `sql` (e.g. whether the login is a superuser);
        runs after the target was recreated, if it was.
        """
        ...

    def after_restore(self, plan: RestorePlan) -> SqlStep | None:
        """SQL to run once the loader succeeded (None: nothing)."""
        ...

    def session_argv(self, tool: str, conn: Connection, creds: Credentials) -> list[str]:
        """Argv of :attr:`client_tool` (at path `tool`) on ``conn.database``, kept open and
        answering each statement as it comes (the census session)."""
        ...

    @property
    def census_taker(self) -> CensusTaker:
        """How this engine counts rows and schema objects consistently with its dump, and in
        a scratch database (:mod:`lifeboat.engines.census`)."""
        ...

    def create_database_sql(self, database: str) -> str:
        """SQL (run from :attr:`admin_database`) creating `database`; fails if it exists."""
        ...

    def drop_database_sql(self, database: str) -> str:
        """SQL (run from :attr:`admin_database`) dropping `database` if it exists."""
        ...

    def list_databases_sql(self, prefix: str) -> str:
        """SQL printing the names of the databases starting with `prefix`, one a line.

        Raises:
            ValueError: `prefix` is not only lowercase letters, digits and ``_``.
        """
        ...
