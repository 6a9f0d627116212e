"""Pure argv/credential builders of lifeboat.engines, and the mysqldump filter."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest

from lifeboat.core.errors import DatabaseError, RestoreError
from lifeboat.engines import mysql, postgres
from lifeboat.engines.common import Connection, Toolbox, child_env, compressor_argv

SECRET = "s3cr:et\\pa'ss\"word #x"
NASTY_DB = "-d=postgresql://evil host='x'"


def pg_conn(database: str = "app", user: str = "alice") -> Connection:
    return Connection("postgresql", "db.local", 5433, database, user, SECRET)


def my_conn(database: str = "app") -> Connection:
    return Connection("mysql", "db.local", 3307, database, "-bob", SECRET)


def _no_secret(argv: list[str]) -> None:
    joined = "\x00".join(argv)
    assert SECRET not in joined
    assert "s3cr" not in joined
    assert "://" not in joined or "dbname='-d=postgresql://" in joined


def test_connection_repr_hides_password() -> None:
    assert "s3cr" not in repr(pg_conn())


def test_pg_dump_argv() -> None:
    argv = postgres.dump_argv("/usr/bin/pg_dump", pg_conn())
    assert argv[0] == "/usr/bin/pg_dump"
    assert "--format=custom" in argv and "--compress=0" in argv
    assert "--dbname=dbname='app'" in argv
    assert "--username=alice" in argv and "--host=db.local" in argv and "--port=5433" in argv
    assert "--no-password" in argv
    _no_secret(argv)


def test_pg_hostile_names_stay_values() -> None:
    argv = postgres.dump_argv("pg_dump", pg_conn(database=NASTY_DB, user="-U=root"))
    # Every user-given value sits inside a --long=value argument; nothing starts a new option.
    assert all(a.startswith("--") for a in argv[1:])
    assert "--username=-U=root" in argv
    assert "--dbname=dbname='-d=postgresql://evil host=\\'x\\''" in argv
    _no_secret(argv)


def test_conninfo_quote() -> None:
    assert postgres.conninfo_quote("a b") == "'a b'"
    assert postgres.conninfo_quote("o'k\\") == "'o\\'k\\\\'"


@pytest.mark.parametrize(
    ("kwargs", "present", "absent"),
    [
        ({}, ["--exit-on-error"], ["--clean", "--schema-only", "--data-only", "--no-owner"]),
        ({"exit_on_error": False}, [], ["--exit-on-error"]),
        ({"clean": True}, ["--clean", "--if-exists", "--exit-on-error"], []),
        ({"schema_only": True}, ["--schema-only"], ["--data-only"]),
        ({"data_only": True}, ["--data-only"], ["--disable-triggers"]),
        ({"data_only": True, "disable_triggers": True}, ["--disable-triggers"], []),
        ({"no_owner": True}, ["--no-owner", "--no-privileges"], []),
    ],
)
def test_pg_restore_options(kwargs: dict[str, bool], present: list[str], absent: list[str]) -> None:
    # Any: pyright cannot tell these bool keywords from the Sequence-typed `extra`.
    argv = postgres.restore_argv("pg_restore", pg_conn(), **cast("dict[str, Any]", kwargs))
    for flag in present:
        assert flag in argv
    for flag in absent:
        assert flag not in argv
    assert "--dbname=dbname='app'" in argv
    assert not any(a.startswith("--file") or a == "-f" for a in argv)  # reads stdin
    _no_secret(argv)


def test_pg_restore_refuses_contradictions() -> None:
    with pytest.raises(RestoreError):
        postgres.restore_argv("pg_restore", pg_conn(), schema_only=True, data_only=True)
    with pytest.raises(RestoreError):
        postgres.restore_argv("pg_restore", pg_conn(), clean=True, data_only=True)


def test_psql_argv() -> None:
    argv = postgres.psql_argv("psql", pg_conn(), database="postgres")
    assert "--set=ON_ERROR_STOP=1" in argv
    assert "--no-psqlrc" in argv
    assert "--dbname=dbname='postgres'" in argv
    assert not any(a.startswith(("-c", "--command")) for a in argv)  # SQL goes on stdin
    _no_secret(argv)


def test_pgpass_escaping() -> None:
    line = postgres.pgpass_content(pg_conn(user="u:1"))
    assert line == "db.local:5433:*:u\\:1:s3cr\\:et\\\\pa'ss\"word #x\n"
    assert postgres.pgpass_escape("a\\:b") == "a\\\\\\:b"


def test_pgpass_refuses_newlines() -> None:
    with pytest.raises(DatabaseError):
        postgres.pgpass_content(Connection("postgresql", "h", 1, "d", "u", "a\nb"))


def test_pg_drop_and_recreate_quotes_identifiers() -> None:
    sql = postgres.drop_and_recreate_sql('we"ird; DROP')
    assert sql == (
        'DROP DATABASE IF EXISTS "we""ird; DROP" WITH (FORCE);\nCREATE DATABASE "we""ird; DROP";\n'
    )


def test_pg_parse_probe() -> None:
    assert postgres.parse_probe_output("15.4 (Debian)\n7708007\n") == ("15.4 (Debian)", 7708007)


def test_mysqldump_argv() -> None:
    argv = mysql.dump_argv("/usr/bin/mysqldump", "/tmp/x/client.cnf", "-app")
    assert argv[1] == "--defaults-extra-file=/tmp/x/client.cnf"  # must be the first argument
    for flag in (
        "--single-transaction",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        "--default-character-set=utf8mb4",
        "--no-tablespaces",
        "--skip-lock-tables",
    ):
        assert flag in argv
    assert argv[-2:] == ["--", "-app"]
    assert not any(a.startswith(("--password", "-p", "--user", "-u")) for a in argv)


def test_mysql_client_argv() -> None:
    argv = mysql.client_argv("mysql", "/tmp/x/client.cnf", "--database=evil")
    assert argv[1] == "--defaults-extra-file=/tmp/x/client.cnf"
    assert argv[-1] == "--database=--database=evil"
    assert "--binary-mode" in argv and "--batch" in argv
    assert "--force" not in argv


def test_mysql_option_quoting() -> None:
    content = mysql.option_file_content(my_conn())
    assert 'password="s3cr:et\\\\pa\\\'ss\\"word #x"\n' in content
    assert 'user="-bob"\n' in content
    assert mysql.option_quote("a\nb\tc") == '"a\\nb\\tc"'


@pytest.mark.skipif(shutil.which("mysql") is None, reason="mysql client not installed")
@pytest.mark.parametrize(
    "password", [SECRET, " lead and trail ", "semi;colon", "new\nline", "back\\slash\\", "é🚀"]
)
def test_mysql_option_file_parsed_back(tmp_path: Path, password: str) -> None:
    # The real client parses our file back into exactly the same values.
    conn = Connection("mysql", "h#1", 3306, "d", "us er", password)
    cnf = tmp_path / "client.cnf"
    cnf.write_text(mysql.option_file_content(conn))
    out = subprocess.run(
        ["mysql", f"--defaults-extra-file={cnf}", "--print-defaults"],
        capture_output=True,
        check=True,
    )
    printed = out.stdout.decode()
    assert "--host=h#1" in printed
    assert "--user=us er" in printed
    assert f"--password={password}" in printed


def test_mysql_drop_and_recreate_quotes_identifiers() -> None:
    assert mysql.drop_and_recreate_sql("a`b") == (
        "DROP DATABASE IF EXISTS `a``b`;\nCREATE DATABASE `a``b` CHARACTER SET utf8mb4;\n"
    )


def test_child_env_extends_and_strips() -> None:
    base = {"PATH": "/bin", "PGPASSWORD": "x", "MYSQL_PWD": "y", "HOME": "/root"}
    env = child_env(base, {"PGPASSFILE": "/tmp/p"})
    assert env == {"PATH": "/bin", "HOME": "/root", "PGPASSFILE": "/tmp/p"}
    assert base["PGPASSWORD"] == "x"  # not modified


def test_toolbox_missing_tool() -> None:
    with pytest.raises(DatabaseError, match="pg_dump not found on this executor"):
        Toolbox(search_path="/nonexistent").which("pg_dump")


def test_compressor_argv() -> None:
    argv = compressor_argv(Toolbox(), "zstd", 3)
    assert argv[1:] == ["-q", "-T0", "-3", "-c"]
    gz = compressor_argv(Toolbox(), "gzip", 6)
    assert gz[1:] == ["-c", "-6"]


SAMPLE_DUMP = b"""/*M!999999\\- enable the sandbox mode */\x20
-- MariaDB dump 10.19
/*!40101 SET NAMES utf8mb4 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;

DROP TABLE IF EXISTS `a`;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `a` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `s` varchar(20) DEFAULT 'x;',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=3;

LOCK TABLES `a` WRITE;
/*!40000 ALTER TABLE `a` DISABLE KEYS */;
INSERT INTO `a` VALUES
(1,'x\\ny;'),
(2,'DROP TABLE `a`;');
/*!40000 ALTER TABLE `a` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET sql_mode              = '' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 trigger tr before insert on a
for each row set new.s=lower(new.s) */;;
DELIMITER ;
/*!50001 DROP VIEW IF EXISTS `v`*/;
/*!50001 CREATE VIEW `v` AS SELECT
 1 AS `id` */;
DELIMITER ;;
CREATE DEFINER=`root`@`%` PROCEDURE `p`()
BEGIN
  INSERT INTO a VALUES (9, 'x');
END ;;
DELIMITER ;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
"""


def _filtered(*, schema_only: bool = False, data_only: bool = False) -> str:
    lines = SAMPLE_DUMP.splitlines(keepends=True)
    kept = mysql.filter_dump(lines, schema_only=schema_only, data_only=data_only)
    return b"".join(kept).decode()


def test_filter_passthrough() -> None:
    assert _filtered() == SAMPLE_DUMP.decode()


def test_filter_schema_only() -> None:
    out = _filtered(schema_only=True)
    assert "INSERT INTO `a`" not in out
    assert "(1,'x\\ny;')" not in out and "(2,'DROP TABLE" not in out
    assert "CREATE TABLE `a`" in out and ") ENGINE=InnoDB AUTO_INCREMENT=3;" in out
    assert "trigger tr before insert" in out
    assert "INSERT INTO a VALUES (9, 'x');" in out  # inside the procedure body: kept
    assert "CREATE VIEW `v`" in out
    assert "LOCK TABLES" in out and "UNLOCK TABLES;" in out


def test_filter_data_only() -> None:
    out = _filtered(data_only=True)
    assert "INSERT INTO `a` VALUES\n(1,'x\\ny;'),\n(2,'DROP TABLE `a`;');\n" in out
    for gone in (
        "DROP TABLE IF EXISTS",
        "CREATE TABLE",
        "AUTO_INCREMENT",
        "DELIMITER",
        "trigger",
        "PROCEDURE",
        "CREATE VIEW",
        "DROP VIEW",
        "(9, 'x')",
    ):
        assert gone not in out, gone
    for kept in (
        "/*!40101 SET NAMES utf8mb4 */;",
        "LOCK TABLES `a` WRITE;",
        "/*!40000 ALTER TABLE `a` DISABLE KEYS */;",
        "UNLOCK TABLES;",
        "FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS",
        "sandbox mode",
    ):
        assert kept in out, kept


def test_filter_long_lines_in_pieces() -> None:
    # The streaming pump feeds over-long lines as begin(head) ... end(tail).
    f = mysql.DumpFilter(schema_only=False, data_only=True)
    assert f.begin(b"CREATE TABLE `b` (") is False
    f.end(b"  x int,\n")
    assert f.keep(b") ENGINE=InnoDB;\n") is False
    assert f.begin(b"INSERT INTO `b` VALUES (1,'") is True
    f.end(b"...');\n")
    assert f.keep(b"UNLOCK TABLES;\n") is True
