"""A decompression bomb uploaded as an unverified restore file.

A small zstd file (a few hundred KB) that decompresses to 4 GiB of zeros, far past the cap
of an unverified artifact (:func:`lifeboat.executor.restore.decompressed_cap`: 1 GiB for a
small file), is uploaded with ``confirmUnverified``. The restore must fail with the cap
message, the target database must be untouched (the restore asked for drop-and-recreate), and
the executor's memory must stay bounded while it counts the decompressed bytes (peak RSS read
from /proc/<executor pid>/status). Real processes (scripts.devstack), real PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from lifeboat.executor.restore import decompressed_cap
from scripts.devstack import Stack
from tests.e2e.test_restore_upload import leftover_uploads
from tests.e2e.test_s3_roundtrip import pg_db
from tests.e2e.test_system_roundtrip import ok, wait_done
from tests.support.dbs import pg_connect, scratch_pg
from tests.support.richdb import pg_fingerprint

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BOMB_BYTES = 4 << 30
MEMORY_LIMIT = 200 * 1024 * 1024


def make_bomb(path: Path) -> None:
    """zstd of BOMB_BYTES zeros, streamed (``head | zstd``): never held in memory."""
    with path.open("wb") as out:
        head = subprocess.Popen(
            ["head", "-c", str(BOMB_BYTES), "/dev/zero"], stdout=subprocess.PIPE
        )
        assert head.stdout is not None
        try:
            subprocess.run(["zstd", "-q", "-3", "-c"], stdin=head.stdout, stdout=out, check=True)
        finally:
            head.stdout.close()
            head.wait()


def status_kib(pid: int, field: str) -> int:
    """A ``kB`` field (VmRSS, VmHWM) of /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


class RssSampler:
    """Samples VmRSS of one process in a thread; `peak` is the largest value seen (bytes)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS") * 1024)
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd not installed")
def test_a_decompression_bomb_is_cut_off_at_the_cap(
    api: httpx.Client, stack: Stack, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.dump.zst"
    make_bomb(bomb)
    size = bomb.stat().st_size
    cap = decompressed_cap(size)
    assert size < 4 * 1024 * 1024 and 2 * cap < BOMB_BYTES, (size, cap)
    executor_pid = stack.procs["executor"].pid

    with scratch_pg("lbbomb") as dst:
        with pg_connect(dst.name) as conn:
            conn.execute("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (42)")
        before = pg_fingerprint(dst.name)
        target = pg_db(api, dst)
        with RssSampler(executor_pid) as sampler:
            with bomb.open("rb") as data:
                restore = ok(
                    api.post(
                        "/api/restores/upload",
                        data={
                            "databaseId": target["id"],
                            "options": '{"dropAndRecreate": true}',
                            "confirmUnverified": "true",
                        },
                        files={"file": ("bomb.dump.zst", data, "application/octet-stream")},
                        timeout=120,
                    ),
                    202,
                )
            restore = wait_done(api, f"/api/restores/{restore['id']}", timeout=300)
        assert restore["status"] == "failed"
        message = restore["errorMessage"] or ""
        assert f"decompresses to more than {cap} bytes" in message, message
        assert "refused" in message
        assert pg_fingerprint(dst.name) == before  # never dropped, never loaded

    logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
    assert not any("Dropping and recreating" in line["message"] for line in logs)
    assert not any("Running pg_restore" in line["message"] for line in logs)
    peak = max(sampler.peak, status_kib(executor_pid, "VmHWM") * 1024)
    assert peak < MEMORY_LIMIT, f"executor peak RSS {peak / 2**20:.0f} MiB"
    assert leftover_uploads(stack) == []
