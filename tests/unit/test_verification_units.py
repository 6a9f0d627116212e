"""Pure pieces of verification restores: scratch names, census comparison and parsing, SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from lifeboat.core.errors import DatabaseError, ValidationError
from lifeboat.core.scratch import (
    check_scratch_name,
    scratch_created_at,
    scratch_name,
    stale_scratch,
)
from lifeboat.engines import mysql, postgres
from lifeboat.engines.census import Census, compare, parse_census_json
from lifeboat.storage.manifest import Manifest, decode_manifest, encode_manifest
from lifeboat.wire.codec import encode, executor_event_decoder
from lifeboat.wire.messages import BackupFinished, VerifyFinished

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)


def test_scratch_names_are_generated_checked_and_dated() -> None:
    name = scratch_name("exec-1", NOW)
    assert name.startswith("lifeboat_verify_202612021030_") and len(name) <= 63
    assert check_scratch_name(name) == name
    assert scratch_name("exec-2", NOW) != name
    assert scratch_created_at(name) == NOW
    for hostile in ("app", "lifeboat_verify_x; DROP DATABASE app", 'lifeboat_verify_1"', ""):
        with pytest.raises(ValidationError):
            check_scratch_name(hostile)
        assert scratch_created_at(hostile) is None


def test_only_day_old_scratch_databases_are_stale() -> None:
    old = scratch_name("a", NOW - timedelta(days=2))
    fresh = scratch_name("b", NOW - timedelta(hours=2))
    assert stale_scratch([old, fresh, "lifeboat_verify_other", "app"], NOW) == [old]


def test_compare_names_every_difference() -> None:
    recorded = Census(tables={"a": 1, "b": 2, "gone": 3}, objects={"tables": 3, "views": 1})
    restored = Census(tables={"a": 1, "b": 5, "new": 0}, objects={"tables": 3, "views": 0})
    assert compare(recorded, recorded) == []
    assert compare(recorded, restored) == [
        "views: 0 restored, 1 recorded",
        "table b: 5 rows restored, 2 recorded",
        "table gone: recorded (3 rows) but not restored",
        "table new: restored (0 rows) but not recorded",
    ]
    assert recorded.rows == 6


def test_census_json_parsing() -> None:
    text = 'SET\n{"tables" : {"public.t": 3}, "objects" : {"views" : 2}}\n'
    assert parse_census_json(text) == Census(tables={"public.t": 3}, objects={"views": 2})
    with pytest.raises(DatabaseError):
        parse_census_json("nothing")


def test_postgres_census_sql_shares_a_checked_snapshot() -> None:
    sql = postgres.census_sql("00000003-0000001B-1")
    assert "SET TRANSACTION SNAPSHOT '00000003-0000001B-1';" in sql
    with pytest.raises(DatabaseError):
        postgres.census_sql("x'; DROP TABLE t; --")
    assert postgres.snapshot_id("\n00000003-0000001B-1\n") == "00000003-0000001B-1"
    assert postgres.create_database_sql('a"b') == 'CREATE DATABASE "a""b";\n'
    assert "WITH (FORCE)" in postgres.drop_database_sql("lifeboat_verify_x")
    with pytest.raises(ValueError, match="unsafe"):
        postgres.list_databases_sql("x'%")


def test_mysql_census_sql() -> None:
    names = ["plain", "tab\there", "back`tick"]
    hex_lines = [n.encode().hex().upper() for n in names]
    assert mysql.table_names(hex_lines) == names
    assert mysql.count_rows_sql(["back`tick"]) == "SELECT COUNT(*) FROM `back``tick`;\n"
    objects = mysql.parse_objects("\t".join(str(i) for i in range(len(mysql.OBJECT_KINDS))))
    assert list(objects) == list(mysql.OBJECT_KINDS) and objects["tables"] == 0
    assert mysql.session_argv("mysql", "/x.cnf", "db")[-1] == "--unbuffered"


def test_old_messages_and_manifests_still_decode() -> None:
    finished = BackupFinished(execution_id="e", attempt=1, ok=True, finished_at=NOW, started_at=NOW)
    raw = encode(finished)
    decoded = executor_event_decoder.decode(raw)
    assert isinstance(decoded, BackupFinished) and decoded.row_counts is None
    verify = VerifyFinished(
        execution_id="v", backup_id="b", attempt=1, ok=False, started_at=NOW, finished_at=NOW
    )
    assert executor_event_decoder.decode(encode(verify)) == verify
    manifest = Manifest(
        execution_id="e",
        database_label="d",
        database_name="d",
        engine="postgresql",
        format="pg_dump-custom",
        compression="zstd",
        size_bytes=1,
        sha256="0" * 64,
        backup_type="manual",
        file_name="f",
        started_at=NOW,
        completed_at=NOW,
        row_counts={"public.t": 3},
        object_counts={"tables": 1},
    )
    assert decode_manifest(encode_manifest(manifest)) == manifest
    old = msgspec.json.decode(encode_manifest(manifest))
    del old["rowCounts"], old["objectCounts"]
    assert decode_manifest(msgspec.json.encode(old)).row_counts is None


def test_scheduled_verification_is_due() -> None:
    from lifeboat.api.domain.verifications.scheduled import verification_due

    assert not verification_due("none", None, NOW)
    assert verification_due("each", NOW, NOW)
    assert verification_due("daily", None, NOW)
    assert not verification_due("daily", NOW - timedelta(hours=12), NOW)
    # A backup at the same time every day, a little earlier than yesterday's: still due.
    assert verification_due("daily", NOW - timedelta(days=1) + timedelta(minutes=3), NOW)
    assert not verification_due("weekly", NOW - timedelta(days=3), NOW)
    assert verification_due("weekly", NOW - timedelta(days=7), NOW)


def test_each_attempt_has_its_own_scratch_database() -> None:
    from lifeboat.core.scratch import attempt_scratch_name

    name = scratch_name("exec-1", NOW)
    assert attempt_scratch_name(name, 1) == name
    second, third = attempt_scratch_name(name, 2), attempt_scratch_name(name, 3)
    assert len({name, second, third}) == 3
    assert all(check_scratch_name(n) and scratch_created_at(n) == NOW for n in (second, third))
