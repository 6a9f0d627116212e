"""The engine registry and the facts and rules each engine gives through it."""

from __future__ import annotations

import pytest

from lifeboat.core.errors import DatabaseError, RestoreError
from lifeboat.engines import mysql, postgres
from lifeboat.engines.base import (
    Credentials,
    RestorePlan,
    raise_on_problems,
    restore_option_problems,
)
from lifeboat.engines.common import Connection
from lifeboat.engines.registry import ENGINE_NAMES, ENGINES, engine_for, format_of, tools
from lifeboat.wire.messages import RestoreOptions


def test_every_engine_is_registered_under_its_own_name() -> None:
    assert ENGINE_NAMES == ("postgresql", "mysql")
    for name, engine in ENGINES.items():
        assert engine.name == name
        assert engine_for(name) is engine


def test_an_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match=r"unknown database engine 'oracle'.*postgresql"):
        engine_for("oracle")


def test_engine_facts() -> None:
    pg, my = engine_for("postgresql"), engine_for("mysql")
    assert (pg.default_port, my.default_port) == (5432, 3306)
    assert (pg.dump_tool, pg.restore_tool, pg.client_tool) == ("pg_dump", "pg_restore", "psql")
    assert (my.dump_tool, my.restore_tool, my.client_tool) == ("mysqldump", "mysql", "mysql")
    assert (pg.artifact_format, my.artifact_format) == ("pg_dump-custom", "mysqldump-sql")
    assert (pg.file_extension, my.file_extension) == ("dump", "sql")
    assert (pg.admin_database, my.admin_database) == ("postgres", None)
    assert tools() == ("pg_dump", "pg_restore", "psql", "mysqldump", "mysql")


def test_file_extensions_are_read_back() -> None:
    assert format_of("db_manual_20250101_000000_abc.dump.zst") == ("postgresql", "zstd")
    assert format_of("x.sql.gz") == ("mysql", "gzip")
    assert format_of("x.tar.gz") == (None, "gzip")


def test_tls_hook_adds_nothing_yet() -> None:
    conn = Connection("postgresql", "h", 1, "d", "u", "p")
    for engine in ENGINES.values():
        assert engine.tls_args(conn) == []


def test_engine_argv_matches_the_pure_builders() -> None:
    pg_conn = Connection("postgresql", "h", 5432, "app", "u", "p")
    creds = Credentials(env={}, file="/tmp/x/client.cnf")
    assert postgres.ENGINE.dump_argv("pg_dump", pg_conn, creds) == postgres.dump_argv(
        "pg_dump", pg_conn
    )
    my_conn = Connection("mysql", "h", 3306, "app", "u", "p")
    assert mysql.ENGINE.dump_argv("mysqldump", my_conn, creds) == mysql.dump_argv(
        "mysqldump", creds.file, "app"
    )
    assert mysql.ENGINE.client_argv("mysql", my_conn, creds, None) == mysql.client_argv(
        "mysql", creds.file
    )


def test_mysql_restore_goes_on_past_errors_only_when_asked() -> None:
    assert "--force" not in mysql.restore_argv("mysql", "/f", "app")
    argv = mysql.restore_argv("mysql", "/f", "app", exit_on_error=False)
    assert argv[-2:] == ["--database=app", "--force"]


@pytest.mark.parametrize(
    ("plan", "pg", "my"),
    [
        (RestorePlan(), False, False),
        (RestorePlan(clean=True), False, True),
        (RestorePlan(drop_and_recreate=True), True, True),
    ],
)
def test_which_restores_recreate_the_database(plan: RestorePlan, pg: bool, my: bool) -> None:
    assert postgres.ENGINE.recreates(plan) is pg
    assert mysql.ENGINE.recreates(plan) is my


def test_only_postgres_refreshes_views_after_a_data_only_restore() -> None:
    step = postgres.ENGINE.after_restore(RestorePlan(data_only=True))
    assert step is not None and "MATERIALIZED VIEW" in step.sql
    assert postgres.ENGINE.after_restore(RestorePlan()) is None
    assert mysql.ENGINE.after_restore(RestorePlan(data_only=True)) is None


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        (RestorePlan(), []),
        (RestorePlan(schema_only=True), []),
        (RestorePlan(clean=True, drop_and_recreate=True, no_owner=True), []),
        (RestorePlan(schema_only=True, data_only=True), [("schema_only", "data_only")]),
        (RestorePlan(data_only=True, clean=True), [("data_only", "clean")]),
        (
            RestorePlan(data_only=True, clean=True, drop_and_recreate=True),
            [("data_only", "clean"), ("data_only", "drop_and_recreate")],
        ),
    ],
)
def test_one_set_of_restore_option_rules(
    options: RestorePlan, fields: list[tuple[str, ...]]
) -> None:
    assert [p.fields for p in restore_option_problems(options)] == fields
    for engine in ENGINES.values():
        assert [p.fields for p in engine.restore_option_problems(options)] == fields
    # The wire's options fit the same rules.
    wire = RestoreOptions(
        drop_and_recreate=options.drop_and_recreate,
        clean=options.clean,
        schema_only=options.schema_only,
        data_only=options.data_only,
    )
    assert [p.fields for p in restore_option_problems(wire)] == fields


def test_the_first_problem_is_raised() -> None:
    raise_on_problems([])
    with pytest.raises(RestoreError, match="schema_only and data_only cannot be combined"):
        raise_on_problems(restore_option_problems(RestorePlan(schema_only=True, data_only=True)))
    with pytest.raises(RestoreError, match="data_only"):
        mysql.DumpFilter(schema_only=True, data_only=True)
