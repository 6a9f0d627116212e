"""Artifact naming and path containment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifeboat.core.errors import ValidationError
from lifeboat.core.naming import (
    Compression,
    Engine,
    backup_file_name,
    backup_relative_dir,
    s3_key,
    safe_component,
)
from lifeboat.core.paths import contained
from lifeboat.engines.registry import engine_for, format_of

WHEN = datetime(2025, 11, 16, 14, 30, 22, tzinfo=UTC)


def test_file_name_follows_spec() -> None:
    name = backup_file_name(
        database="myapp_db",
        backup_type="daily",
        started_at=WHEN,
        execution_id="abc12345-0000",
        extension="dump",
        compression="zstd",
    )
    assert name == "myapp_db_daily_20251116_143022_abc12345.dump.zst"
    assert backup_relative_dir(database="myapp_db", started_at=WHEN) == "myapp_db/2025/11"


def test_mysql_gzip_suffix() -> None:
    name = backup_file_name(
        database="users",
        backup_type="manual",
        started_at=WHEN,
        execution_id="def45678",
        extension="sql",
        compression="gzip",
    )
    assert name.endswith("_def45678.sql.gz")


def test_s3_key_layout() -> None:
    key = s3_key(prefix="/backups/", database="myapp_db", started_at=WHEN, file_name="f.dump.zst")
    assert key == "backups/myapp_db/2025/11/f.dump.zst"


@given(st.text(min_size=0, max_size=200))
def test_safe_component_never_escapes(name: str) -> None:
    comp = safe_component(name)
    assert comp
    assert "/" not in comp and "\\" not in comp and "\x00" not in comp
    assert comp not in (".", "..")
    assert not comp.startswith(".")


@pytest.mark.parametrize(
    "bad", ["../etc/passwd", "/etc/passwd", "a/../../b", "a/b/../../../c", "", "a\x00b"]
)
def test_contained_refuses_escapes(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValidationError):
        contained(tmp_path, bad)


def test_contained_refuses_symlink_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValidationError):
        contained(root, "link/file")


def test_contained_accepts_normal_paths(tmp_path: Path) -> None:
    assert contained(tmp_path, "db/2025/11/f.zst") == tmp_path.resolve() / "db/2025/11/f.zst"


@given(
    database=st.text(min_size=1, max_size=40),
    engine=st.sampled_from(["postgresql", "mysql"]),
    compression=st.sampled_from(["zstd", "gzip"]),
)
def test_format_of_reads_back_what_backup_file_name_wrote(
    database: str, engine: Engine, compression: Compression
) -> None:
    name = backup_file_name(
        database=database,
        backup_type="manual",
        started_at=datetime(2025, 11, 16, 14, 30, 22, tzinfo=UTC),
        execution_id="4c41a9a0-0000-0000-0000-000000000000",
        extension=engine_for(engine).file_extension,
        compression=compression,
    )
    assert format_of(name) == (engine, compression)
    assert format_of(f"prefix/db/2025/11/{name}") == (engine, compression)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dump", (None, None)),
        ("x.tar.gz", (None, "gzip")),
        ("x.sql", ("mysql", None)),
        ("dir.dump/x", (None, None)),  # only the last path segment counts
        ("X.DUMP.ZSTD", ("postgresql", "zstd")),
    ],
)
def test_format_of_says_none_for_what_the_name_does_not_say(
    name: str, expected: tuple[str | None, str | None]
) -> None:
    assert format_of(name) == expected
