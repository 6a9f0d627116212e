"""Artifact names (lifeboat.storage.base): which every store accepts, and how they combine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lifeboat.core.errors import ValidationError
from lifeboat.core.naming import backup_relative_dir
from lifeboat.storage.base import check_name, check_prefix, is_listed, join_name, manifest_of


@pytest.mark.parametrize(
    "name",
    [
        "f.dump.zst",
        "app/2025/11/app_manual_20251116_143022_1a2b3c4d.dump.zst",
        "ümlaut €/x y.dump",
        "..not-a-parent/x",
        ".uploads/abc.sql.gz",
    ],
)
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/a",
        "a/",
        "a//b",
        "./a",
        "a/.",
        "..",
        "../a",
        "a/../b",
        "a\\b",
        "a\x7fb",
        "x.manifest.json",
    ],
)
def test_bad_names(name: str) -> None:
    with pytest.raises(ValidationError):
        check_name(name)


def test_long_names_are_counted_in_utf8_bytes() -> None:
    check_name("é" * 512)  # 1,024 bytes
    with pytest.raises(ValidationError):
        check_name("é" * 512 + "x")


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b/c", "a/.", "db1/2025/0"])
def test_good_prefixes(prefix: str) -> None:
    assert check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "../", "a/../", "a//", "a/\n"])
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ValidationError):
        check_prefix(prefix)


def test_join_and_manifest() -> None:
    directory = backup_relative_dir(database="app", started_at=datetime(2025, 11, 16, tzinfo=UTC))
    assert join_name(directory, "f.dump.zst") == f"{directory}/f.dump.zst"
    assert join_name("", "f.dump.zst") == "f.dump.zst"
    assert join_name("/a/", "f") == "a/f"
    with pytest.raises(ValidationError):
        join_name("a", "../f")
    assert manifest_of("a/b/f.dump.zst") == "a/b/f.dump.zst.manifest.json"
    assert manifest_of("f") == "f.manifest.json"


def test_listed_names() -> None:
    assert is_listed("a/b/f.dump.zst")
    assert not is_listed("a/b/f.dump.zst.manifest.json")
    assert not is_listed("a/b/.f.dump.zst.1a2b.part")
    assert not is_listed(".uploads/x.sql")
