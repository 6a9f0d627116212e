"""User-given names that look like options or carry quotes never become tool options."""

from __future__ import annotations

import pytest

from lifeboat.engines import mysql, postgres
from lifeboat.engines.common import Connection

HOSTILE = [
    "-x",
    "--help",
    'a"b;',
    "a`b",
    "a'b c",
    "-u a\"b; `c' d",
    "dbname=x host=evil",
    "postgresql://evil/x",
    "a\\b",
]


def pg(database: str, user: str) -> Connection:
    return Connection("postgresql", "127.0.0.1", 5432, database, user, "pw")


@pytest.mark.parametrize("name", HOSTILE)
def test_pg_argv_keeps_names_in_values(name: str) -> None:
    conn = pg(name, name)
    for argv in (
        postgres.dump_argv("pg_dump", conn),
        postgres.restore_argv("pg_restore", conn),
        postgres.psql_argv("psql", conn),
        postgres.psql_argv("psql", conn, database=name),
    ):
        # One argument per value, each a --long=value: nothing a name holds starts an option.
        assert all((a.startswith("--") and "=" in a) or a in _PG_FLAGS for a in argv[1:]), argv
        assert f"--username={name}" in argv
        assert postgres.dbname_arg(name) in argv
        assert argv.count(postgres.dbname_arg(name)) == 1


_PG_FLAGS = {
    "--no-password",
    "--exit-on-error",
    "--no-psqlrc",
    "--quiet",
    "--tuples-only",
    "--no-align",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_pg_dbname_is_one_quoted_conninfo_value(name: str) -> None:
    arg = postgres.dbname_arg(name)
    value = arg.removeprefix("--dbname=dbname=")
    # libpq's conninfo quoting: inside '...', only \\ and \\' are escapes.
    assert value.startswith("'") and value.endswith("'")
    inner = value[1:-1]
    unescaped = inner.replace("\\\\", "\x00").replace("\\'", "'").replace("\x00", "\\")
    assert unescaped == name


@pytest.mark.parametrize("name", HOSTILE)
def test_pg_drop_and_recreate_quotes(name: str) -> None:
    ident = '"' + name.replace('"', '""') + '"'
    assert postgres.drop_and_recreate_sql(name) == (
        f"DROP DATABASE IF EXISTS {ident} WITH (FORCE);\nCREATE DATABASE {ident};\n"
    )


@pytest.mark.parametrize("name", HOSTILE)
def test_mysql_argv_keeps_names_out_of_options(name: str) -> None:
    dump = mysql.dump_argv("mysqldump", "/tmp/c.cnf", name)
    assert dump[-2:] == ["--", name]  # after "--": an operand, whatever it looks like
    assert name not in dump[:-1]
    client = mysql.client_argv("mysql", "/tmp/c.cnf", name)
    assert client[-1] == f"--database={name}"
    assert all(a.startswith("--") for a in client[1:])
    # The user goes in the option file, never in argv.
    conn = Connection("mysql", "127.0.0.1", 3306, name, name, "pw")
    content = mysql.option_file_content(conn)
    assert f"user={mysql.option_quote(name)}\n" in content
    assert not any(name in a for a in client[:-1])


@pytest.mark.parametrize("name", HOSTILE)
def test_mysql_drop_and_recreate_quotes(name: str) -> None:
    ident = "`" + name.replace("`", "``") + "`"
    assert mysql.drop_and_recreate_sql(name) == (
        f"DROP DATABASE IF EXISTS {ident};\nCREATE DATABASE {ident} CHARACTER SET utf8mb4;\n"
    )


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError):
        postgres.quote_ident("a\x00b")
    with pytest.raises(ValueError):
        mysql.quote_ident("a\x00b")
