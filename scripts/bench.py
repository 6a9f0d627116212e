"""`just bench`: Lifeboat against the raw shell pipelines of DESIGN.md "Bars", in one run.

Builds (once, then reuses) a ~1 GB PostgreSQL database and a ~1 GB MariaDB/MySQL database,
then for each engine measures:

* raw backup   ``pg_dump -Fc -Z0 | zstd -T0 -3 > file``  /  ``mysqldump ... | zstd -T0 -3 > file``
* Lifeboat backup: REST request → completed record, through API, NATS and the executor
* raw restore  ``zstd -d < file | pg_restore``  /  ``zstd -d < file | mysql``
* Lifeboat restore: REST request → completed record
* the executor's peak RSS (VmHWM of the executor process)

and prints a table with the ratios. Connection settings come from the same variables as the
tests (LIFEBOAT_TEST_PG_HOST, ...), defaulting to the local servers.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifeboat.engines import mysql as mysql_engine
from lifeboat.engines import postgres as postgres_engine
from lifeboat.engines.registry import tools
from scripts.bench_sql import MY_BATCH, MY_TABLE, PG_BATCH, PG_TABLE
from scripts.devstack import Stack, free_port

BENCH_DB = "lifeboat_bench"
PG_HOST = os.environ.get("LIFEBOAT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LIFEBOAT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("LIFEBOAT_TEST_PG_USER", "postgres")
MY_HOST = os.environ.get("LIFEBOAT_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("LIFEBOAT_TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("LIFEBOAT_TEST_MYSQL_USER", "root")
TARGET_BYTES = 1_000_000_000
BATCH_ROWS = 500_000


def sh(cmd: str, *, input_sql: str | None = None) -> str:
    """Run a shell pipeline of fixed text (no user input) and return stdout."""
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd],
        input=input_sql.encode() if input_sql else None,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{cmd!r} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return done.stdout.decode()


def psql(db: str, sql: str) -> str:
    """Run SQL through psql on `db`."""
    return sh(
        f"psql -X -q -At -v ON_ERROR_STOP=1 -h {PG_HOST} -p {PG_PORT} -U {PG_USER} -d {db}",
        input_sql=sql,
    )


def mysql(db: str, sql: str) -> str:
    """Run SQL through the mysql client on `db`."""
    return sh(f"mysql -N -B -h {MY_HOST} -P {MY_PORT} -u {MY_USER} {db}", input_sql=sql)


def build_pg() -> int:
    """Create (or top up) the PostgreSQL bench database; returns its size in bytes."""
    exists = psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'").strip()
    if not exists:
        psql("postgres", f'CREATE DATABASE "{BENCH_DB}"')
    psql(BENCH_DB, PG_TABLE)
    size = int(psql(BENCH_DB, "SELECT pg_database_size(current_database())").strip())
    while size < TARGET_BYTES:
        start = int(psql(BENCH_DB, "SELECT coalesce(max(id), 0) FROM events").strip()) + 1
        psql(BENCH_DB, PG_BATCH.format(start=start, end=start + BATCH_ROWS - 1))
        size = int(psql(BENCH_DB, "SELECT pg_database_size(current_database())").strip())
        print(f"  postgresql {BENCH_DB}: {size / 1e9:.2f} GB", flush=True)
    psql(BENCH_DB, "VACUUM ANALYZE events")
    return size


def _my_size() -> int:
    mysql(BENCH_DB, "ANALYZE TABLE events")
    out = mysql(
        BENCH_DB,
        "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
        f"WHERE table_schema = '{BENCH_DB}'",
    )
    return int(out.strip())


def build_mysql() -> int:
    """Create (or top up) the MariaDB/MySQL bench database; returns its size in bytes."""
    mysql("", f"CREATE DATABASE IF NOT EXISTS `{BENCH_DB}` CHARACTER SET utf8mb4")
    mysql(BENCH_DB, MY_TABLE)
    size = _my_size()
    while size < TARGET_BYTES:
        start = int(mysql(BENCH_DB, "SELECT COALESCE(MAX(id), 0) FROM events").strip()) + 1
        mysql(BENCH_DB, MY_BATCH.format(start=start, end=start + BATCH_ROWS - 1))
        size = _my_size()
        print(f"  mysql {BENCH_DB}: {size / 1e9:.2f} GB", flush=True)
    return size


def timed(fn: Callable[[], object]) -> float:
    """Seconds `fn` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def drop_pg(name: str) -> None:
    """Drop a PostgreSQL database if present."""
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_pg(name: str) -> None:
    """Create an empty PostgreSQL database (dropping an old one)."""
    drop_pg(name)
    psql("postgres", f'CREATE DATABASE "{name}"')


def create_my(name: str) -> None:
    """Create an empty MySQL database (dropping an old one)."""
    mysql("", f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` CHARACTER SET utf8mb4")


# The raw pipelines use the same dump flags as the executor, so the ratio is Lifeboat's overhead.
PG_CONN = f"-h {PG_HOST} -p {PG_PORT} -U {PG_USER}"
MY_CONN = f"-h {MY_HOST} -P {MY_PORT} -u {MY_USER}"
MY_DUMP_FLAGS = (
    "--single-transaction --routines --triggers --events --hex-blob "
    "--default-character-set=utf8mb4 --no-tablespaces --skip-lock-tables"
)


BENCH_ADMIN = "bench@lifeboat.local"
BENCH_PASSWORD = secrets.token_urlsafe(24)


def drop_my(name: str) -> None:
    """Drop a MySQL database if present."""
    mysql("", f"DROP DATABASE IF EXISTS `{name}`")


@dataclass(frozen=True)
class Side:
    """One engine's half of the bench: its raw pipelines and its scratch databases."""

    engine: str
    host: str
    port: int
    user: str
    raw_dump: str
    """The raw dump of BENCH_DB to stdout, with the executor's flags."""
    raw_load: Callable[[str], str]
    """The raw load, from stdin, into the named database."""
    build: Callable[[], int]
    create: Callable[[str], None]
    drop: Callable[[str], None]


SIDES: dict[str, Side] = {
    side.engine: side
    for side in (
        Side(
            postgres_engine.ENGINE.name,
            PG_HOST,
            PG_PORT,
            PG_USER,
            raw_dump=f"pg_dump {PG_CONN} -Fc -Z0 --dbname={BENCH_DB}",
            raw_load=lambda target: f"pg_restore {PG_CONN} --exit-on-error --dbname={target}",
            build=build_pg,
            create=create_pg,
            drop=drop_pg,
        ),
        Side(
            mysql_engine.ENGINE.name,
            MY_HOST,
            MY_PORT,
            MY_USER,
            raw_dump=f"mysqldump {MY_CONN} {MY_DUMP_FLAGS} -- {BENCH_DB}",
            raw_load=lambda target: f"mysql {MY_CONN} --database={target}",
            build=build_mysql,
            create=create_my,
            drop=drop_my,
        ),
    )
}
"""The engines the bench knows, by name."""


class Api:
    """Tiny JSON client for the bench (stdlib only)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.headers = {"Content-Type": "application/json"}
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def sign_in(self, email: str, password: str) -> None:
        """Sign in (session cookie + CSRF), then use an admin API token for every call."""
        me = self.call("POST", "/api/auth/login", {"email": email, "password": password})
        self.headers["X-CSRF-Token"] = me["csrfToken"]
        token = self.call("POST", "/api/tokens", {"name": "bench", "role": "admin"})["token"]
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the API and return the envelope's data (raises on success=false)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 (local URL)
            self.base + path, data=data, method=method, headers=self.headers
        )
        try:
            with self._opener.open(req, timeout=30) as resp:
                envelope = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from exc
        return envelope["data"]

    def wait(self, path: str, timeout: float = 3600) -> dict[str, Any]:
        """Poll an execution until it is completed (or raise when it failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record: dict[str, Any] = self.call("GET", path)
            if record["status"] == "completed":
                return record
            if record["status"] in ("failed", "cancelled"):
                raise RuntimeError(f"{path} {record['status']}: {record.get('errorMessage')}")
            time.sleep(0.05)
        raise RuntimeError(f"{path} did not finish in {timeout}s")


@dataclass
class Row:
    """One line of the result table."""

    what: str
    raw_s: float
    lifeboat_s: float

    @property
    def ratio(self) -> float:
        """Lifeboat time over raw time."""
        return self.lifeboat_s / self.raw_s


def executor_peak_rss(stack: Stack) -> int:
    """VmHWM (peak resident set) of the executor process, in bytes."""
    pid = stack.procs["executor"].pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found")


def bench_engine(engine: str, api: Api, work: Path) -> list[Row]:
    """Raw vs Lifeboat backup and restore for one engine."""
    raw_file = work / f"raw-{engine}.zst"
    target = f"{BENCH_DB}_restore"
    side = SIDES[engine]
    raw_backup = f"{side.raw_dump} | zstd -q -T0 -3 > {raw_file}"
    raw_restore = f"zstd -q -d -c {raw_file} | {side.raw_load(target)}"
    make_target = side.create
    host, port, user = side.host, side.port, side.user

    print(f"[{engine}] raw backup ...", flush=True)
    t_raw_backup = timed(lambda: sh(raw_backup))
    source = api.call(
        "POST",
        "/api/databases",
        {
            "name": f"bench-{engine}",
            "type": engine,
            "host": host,
            "port": port,
            "databaseName": BENCH_DB,
            "username": user,
            "password": "",
            "skipConnectionTest": True,
        },
    )
    dest = api.call(
        "POST",
        "/api/databases",
        {
            "name": f"bench-{engine}-restore",
            "type": engine,
            "host": host,
            "port": port,
            "databaseName": target,
            "username": user,
            "password": "",
            "skipConnectionTest": True,
        },
    )
    print(f"[{engine}] lifeboat backup ...", flush=True)
    t0 = time.perf_counter()
    backup = api.call("POST", "/api/backups", {"databaseId": source["id"]})
    backup = api.wait(f"/api/backups/{backup['id']}")
    t_lb_backup = time.perf_counter() - t0

    print(f"[{engine}] raw restore ...", flush=True)
    make_target(target)
    t_raw_restore = timed(lambda: sh(raw_restore))
    print(f"[{engine}] lifeboat restore ...", flush=True)
    make_target(target)
    t0 = time.perf_counter()
    restore = api.call(
        "POST", "/api/restores", {"databaseId": dest["id"], "backupId": backup["id"], "options": {}}
    )
    api.wait(f"/api/restores/{restore['id']}")
    t_lb_restore = time.perf_counter() - t0
    raw_file.unlink(missing_ok=True)
    print(
        f"[{engine}] artifact {backup['fileSizeBytes'] / 1e6:.0f} MB "
        f"(raw {t_raw_backup:.1f}s vs {t_lb_backup:.1f}s backup)",
        flush=True,
    )
    return [
        Row(f"{engine} backup", t_raw_backup, t_lb_backup),
        Row(f"{engine} restore", t_raw_restore, t_lb_restore),
    ]


BENCH_S3_KEY = "AKIDLIFEBOATBENCH"
BENCH_S3_SECRET = secrets.token_urlsafe(24)


def bench_s3(engine: str, api: Api, work: Path) -> Row:
    """Backup straight to S3 (one dump streamed by the executor, no local copy) against the raw
    pipeline into a file plus an aioboto3 ``upload_file`` of it, on a moto S3 server started
    here. Needs ``bench_engine(engine)`` to have registered the bench database."""
    import asyncio

    import aioboto3  # pyright: ignore[reportMissingTypeStubs]
    from moto.server import ThreadedMotoServer

    # moto's HTTP server logs every request (one line per part) through werkzeug.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bucket = "lifeboat-bench"
        session: Any = aioboto3.Session(
            aws_access_key_id=BENCH_S3_KEY,
            aws_secret_access_key=BENCH_S3_SECRET,
            region_name="us-east-1",
        )

        async def create_bucket() -> None:
            async with session.client("s3", endpoint_url=endpoint) as client:
                await client.create_bucket(Bucket=bucket)

        async def upload(path: Path) -> None:
            async with session.client("s3", endpoint_url=endpoint) as client:
                await client.upload_file(str(path), bucket, f"raw/{path.name}")

        asyncio.run(create_bucket())
        raw_file = work / f"raw-s3-{engine}.zst"
        dump = SIDES[engine].raw_dump
        print(f"[{engine}] raw backup + upload_file to S3 ...", flush=True)
        t_raw = timed(
            lambda: (
                sh(f"{dump} | zstd -q -T0 -3 > {raw_file}"),
                asyncio.run(upload(raw_file)),
            )
        )
        raw_file.unlink(missing_ok=True)
        with contextlib.suppress(RuntimeError):
            api.call("PUT", "/api/system/settings", {"allow_private_endpoints": True})
        config = api.call(
            "POST",
            "/api/s3-configs",
            {
                "name": f"bench-{engine}",
                "bucket": bucket,
                "endpoint": endpoint,
                "accessKeyId": BENCH_S3_KEY,
                "secretAccessKey": BENCH_S3_SECRET,
                "addressingStyle": "path",
                "pathPrefix": "lifeboat",
            },
        )
        databases = api.call("GET", "/api/databases")
        source = next(d for d in databases if d["name"] == f"bench-{engine}")
        print(f"[{engine}] lifeboat backup straight to S3 ...", flush=True)
        t0 = time.perf_counter()
        backup = api.call(
            "POST",
            "/api/backups",
            {
                "databaseId": source["id"],
                "uploadToS3": True,
                "storeLocally": False,
                "s3ConfigId": config["id"],
            },
        )
        backup = api.wait(f"/api/backups/{backup['id']}")
        t_lb = time.perf_counter() - t0
        if backup.get("s3Status") != "completed":
            raise RuntimeError(f"the S3 copy failed: {backup.get('s3Error')}")
        return Row(f"{engine} backup → S3", t_raw, t_lb)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Build the bench databases if needed, run the measurements, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default=",".join(SIDES))
    parser.add_argument(
        "--s3",
        action="store_true",
        help="also measure a backup straight to S3 (moto server) against pipeline + upload_file",
    )
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in engines if e not in SIDES]
    if unknown:
        raise SystemExit(f"no bench for {', '.join(unknown)} (known: {', '.join(SIDES)})")
    for tool in (*tools(), "zstd"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is required for the benchmark")
    sizes: dict[str, int] = {}
    print("Preparing bench databases (reused when present) ...", flush=True)
    for engine in engines:
        sizes[engine] = SIDES[engine].build()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lifeboat-bench-") as tmp:
        work = Path(tmp)
        stack = Stack(
            work / "data",
            api_port=free_port(),
            log_dir=work / "logs",
            extra_env={"ADMIN_EMAIL": BENCH_ADMIN, "ADMIN_PASSWORD": BENCH_PASSWORD},
        )
        with stack:
            api = Api(stack.api_url)
            api.sign_in(BENCH_ADMIN, BENCH_PASSWORD)
            for engine in engines:
                rows += bench_engine(engine, api, work)
            if args.s3:
                for engine in engines:
                    rows.append(bench_s3(engine, api, work))
            rss = executor_peak_rss(stack)
    for name in engines:
        SIDES[name].drop(f"{BENCH_DB}_restore")
    print()
    print("| what | database size | raw pipeline (s) | Lifeboat (s) | ratio | bar |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        engine = row.what.split()[0]
        ok = "ok" if row.ratio <= 1.10 else "MISSED"
        print(
            f"| {row.what} | {sizes[engine] / 1e9:.2f} GB | {row.raw_s:.2f} | {row.lifeboat_s:.2f} "
            f"| {row.ratio:.3f} | ≤ 1.10 {ok} |"
        )
    print(
        f"| executor peak RSS | | | {rss / 1e6:.1f} MB | | < 150 MB {'ok' if rss < 150e6 else 'MISSED'} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
