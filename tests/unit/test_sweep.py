"""Sweeping abandoned temporary files from local storage (and the executor's periodic runner)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifeboat.core.errors import ConfigurationError
from lifeboat.executor.housekeeping import sweep_periodically
from lifeboat.executor.settings import Settings
from lifeboat.storage.local import LocalStore
from lifeboat.storage.sweep import is_partial_name, sweep_partials

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def touch(path: Path, *, age: timedelta, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def test_partial_names() -> None:
    assert is_partial_name(".app_manual_20250101_000000_x.dump.zst.a1b2c3d4e5f6.part")
    assert is_partial_name(".app.dump.zst.manifest.json.0123.part")
    assert is_partial_name(".x.part")
    for name in ("app.dump.zst", "app.part", ".part", "..part", ".app.dump.zst", ".x.partial"):
        assert not is_partial_name(name), name


def test_only_old_hidden_part_files_go(tmp_path: Path) -> None:
    root = tmp_path / "backups"
    month = root / "app" / "2025" / "06"
    old = touch(month / ".app_x.dump.zst.0a1b2c.part", age=7 * HOUR)
    old_manifest = touch(month / ".app_x.dump.zst.manifest.json.99.part", age=30 * HOUR)
    at_top = touch(root / ".stray.abc.part", age=7 * HOUR)
    young = touch(month / ".app_y.dump.zst.0a1b2d.part", age=HOUR)
    exactly = touch(month / ".app_z.dump.zst.0a1b2e.part", age=6 * HOUR)
    artifact = touch(month / "app_x.dump.zst", age=100 * HOUR)
    visible_part = touch(month / "app.part", age=100 * HOUR)
    other_hidden = touch(month / ".keep", age=100 * HOUR)

    removed = sweep_partials(root, older_than=6 * HOUR, now=NOW)

    assert sorted(removed) == sorted([old, old_manifest, at_top])
    for gone in removed:
        assert not gone.exists()
    for kept in (young, exactly, artifact, visible_part, other_hidden):
        assert kept.exists(), kept


def test_uploads_links_and_outside_are_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "backups"
    root.mkdir()
    upload = touch(root / ".uploads" / ".u.abc.part", age=100 * HOUR)
    nested_uploads = touch(root / "db" / ".uploads" / ".n.abc.part", age=100 * HOUR)
    outside = touch(tmp_path / "elsewhere" / ".victim.abc.part", age=100 * HOUR)
    outside_file = touch(tmp_path / ".victim_file.abc.part", age=100 * HOUR)
    # A directory link and a file link named like temporary files, both pointing outside.
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    file_link = root / ".link.abc.part"
    file_link.symlink_to(outside_file)
    stamp = (NOW - 100 * HOUR).timestamp()
    os.utime(file_link, (stamp, stamp), follow_symlinks=False)

    removed = sweep_partials(root, older_than=HOUR, now=NOW)

    # Only the top-level .uploads belongs to the API; a database named ".uploads" is ours.
    assert removed == [nested_uploads]
    assert upload.exists() and outside.exists() and outside_file.exists()
    assert file_link.is_symlink()


def test_missing_root_and_root_link(tmp_path: Path) -> None:
    assert sweep_partials(tmp_path / "nope", older_than=HOUR, now=NOW) == []
    real = tmp_path / "real"
    victim = touch(real / ".v.abc.part", age=100 * HOUR)
    (tmp_path / "root-link").symlink_to(real, target_is_directory=True)
    assert sweep_partials(tmp_path / "root-link", older_than=HOUR, now=NOW) == []
    assert victim.exists()


async def test_a_real_abandoned_sink_is_swept(tmp_path: Path) -> None:
    # The name LocalStore really gives its temporary files, whatever its format.
    storage = LocalStore(tmp_path / "backups")
    sink = await storage.open_sink("app/2025/06/app_manual_20250601_120000_abc.dump.zst")
    temp = sink.temp_path
    assert temp.exists()
    stamp = (NOW - 7 * HOUR).timestamp()
    os.utime(temp, (stamp, stamp))
    assert sweep_partials(storage.root, older_than=6 * HOUR, now=NOW) == [temp]
    await sink.abort()  # closes the descriptor; the file is already gone


async def test_sweep_periodically_runs_until_stopped(tmp_path: Path) -> None:
    root = tmp_path / "backups"
    stop = asyncio.Event()
    first = touch(root / "db" / ".a.abc.part", age=timedelta(days=3650))
    task = asyncio.create_task(sweep_periodically(root, older_than=HOUR, interval=0.05, stop=stop))
    for _ in range(200):
        if not first.exists():
            break
        await asyncio.sleep(0.01)
    assert not first.exists()
    # Created after the first pass: the next interval takes it.
    second = touch(root / "db" / ".b.abc.part", age=timedelta(days=3650))
    for _ in range(200):
        if not second.exists():
            break
        await asyncio.sleep(0.01)
    assert not second.exists()
    stop.set()
    await asyncio.wait_for(task, 2)


def test_settings(tmp_path: Path) -> None:
    base = {"DATA_DIR": str(tmp_path), "EXECUTOR_SEAL_KEY": "k" * 40}
    settings = Settings.from_env(base)
    assert settings.partial_file_max_age_s == 6 * 3600
    assert settings.sweep_interval_s == 600
    custom = Settings.from_env(
        {**base, "PARTIAL_FILE_MAX_AGE_SECONDS": "60", "SWEEP_INTERVAL_SECONDS": "5"}
    )
    assert (custom.partial_file_max_age_s, custom.sweep_interval_s) == (60, 5)
    with pytest.raises(ConfigurationError, match="SWEEP_INTERVAL_SECONDS"):
        Settings.from_env({**base, "SWEEP_INTERVAL_SECONDS": "0"})


def test_a_live_backups_attempt_keys_are_kept() -> None:
    from lifeboat.api.domain.s3configs.sweep import belongs_to_live_backup

    live = {"p/db/2026/12/db_manual_20261202_000000_1a2b3c4d.dump.zst"}
    assert belongs_to_live_backup("p/db/2026/12/db_manual_20261202_000000_1a2b3c4d.dump.zst", live)
    assert belongs_to_live_backup(
        "p/db/2026/12/db_manual_20261202_000000_1a2b3c4d-a2.dump.zst", live
    )
    assert not belongs_to_live_backup(
        "p/db/2026/12/db_manual_20261202_000000_1a2b3c4d.dump.zst.old", live
    )
    assert not belongs_to_live_backup("p/db/2026/12/other_1a2b3c4d.dump.zst", live)
