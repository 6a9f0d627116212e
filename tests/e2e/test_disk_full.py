"""Backup storage runs out of space in the middle of a dump.

The stack's BACKUP_STORAGE_PATH is a small tmpfs (mounted here, unmounted at the end; the
module is skipped when mounting is not permitted) that already holds a completed backup. A
backup bigger than the free space must fail saying the disk is full, leave neither its
temporary ``.*.part`` file nor a manifest, and the earlier backup must still match its sha256.
Real processes (scripts.devstack), real PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Generator
from pathlib import Path

import httpx
import pytest

from lifeboat.core.naming import manifest_name
from scripts.devstack import Stack
from tests.e2e.test_s3_roundtrip import pg_db
from tests.e2e.test_system_roundtrip import ok, wait_done
from tests.support.dbs import pg_connect, scratch_pg
from tests.support.richdb import build_rich_pg

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DISK_BYTES = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Generator[Path]:
    """A tmpfs of DISK_BYTES, unmounted (by its path) at the end."""
    mountpoint = tmp_path_factory.mktemp("small-disk")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)


@pytest.fixture(scope="module")
def stack_env(small_disk: Path) -> dict[str, str]:
    """The module's stack keeps its backups on the small disk."""
    return {"BACKUP_STORAGE_PATH": str(small_disk)}


def storage_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".uploads" not in p.parts)


def test_a_full_disk_fails_the_backup_and_spares_the_earlier_one(
    api: httpx.Client, stack: Stack, small_disk: Path
) -> None:
    with scratch_pg("lbfull_small") as small, scratch_pg("lbfull_big") as big:
        build_rich_pg(small.name)
        earlier = ok(api.post("/api/backups", json={"databaseId": pg_db(api, small)["id"]}), 202)
        earlier = wait_done(api, f"/api/backups/{earlier['id']}")
        assert earlier["status"] == "completed", earlier.get("errorMessage")
        earlier_path = small_disk / earlier["localPath"]
        assert earlier_path.is_file()
        before = storage_files(small_disk)

        # ~24 MB of hex digits: about 12 MB once compressed, more than the disk holds.
        with pg_connect(big.name) as conn:
            conn.execute(
                "CREATE TABLE filler AS SELECT g AS id,"
                " (SELECT string_agg(md5(random()::text || g || s), '')"
                "  FROM generate_series(1, 32) s) AS junk"
                " FROM generate_series(1, 24000) g"
            )
        free = os.statvfs(small_disk)
        assert free.f_bavail * free.f_frsize < 12 * 1024 * 1024

        failed = ok(api.post("/api/backups", json={"databaseId": pg_db(api, big)["id"]}), 202)
        failed = wait_done(api, f"/api/backups/{failed['id']}")
        assert failed["status"] == "failed"
        assert "No space left on device" in (failed["errorMessage"] or ""), failed
        logs = ok(api.get(f"/api/backups/{failed['id']}/logs", params={"level": "error"}))
        assert any("No space left on device" in line["message"] for line in logs), logs

    # Nothing of the failed backup is left: no temporary file, no artifact, no manifest.
    after = storage_files(small_disk)
    assert after == before, [str(p) for p in after]
    assert not [p for p in small_disk.rglob(".*.part")]
    if failed.get("fileName"):
        assert not list(small_disk.rglob(manifest_name(failed["fileName"])))
    # The earlier backup is intact, byte for byte.
    digest = hashlib.sha256(earlier_path.read_bytes()).hexdigest()
    assert digest in earlier["checksum"]
    assert earlier_path.with_name(manifest_name(earlier_path.name)).is_file()
    # And the disk is usable again: the space of the failed attempt came back.
    free = os.statvfs(small_disk)
    assert free.f_bavail * free.f_frsize > DISK_BYTES // 2
