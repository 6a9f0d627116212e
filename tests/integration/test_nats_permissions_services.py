"""The real api, scheduler and executor processes, each with its own NATS user from
deploy/nats/cluster/accounts.conf, run a backup end to end and the server logs no permission
violation (the way the permissions were worked out, kept as a test)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.devstack import Stack, free_port
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in_and_make_token
from tests.support import dbs
from tests.support.natsauth import SecuredNats, run_secured_nats

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredNats]:
    with run_secured_nats(tmp_path_factory.mktemp("secured-nats")) as server:
        yield server


def _data(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def _wait_for_live_executor(api: httpx.Client, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executors = _data(api.get("/api/executors"), 200)
        if any(e["live"] and e["queue"] == "default" for e in executors):
            return
        time.sleep(0.3)
    raise AssertionError(f"no live executor on queue 'default' after {timeout:g}s")


def test_services_work_with_their_own_users(secured: SecuredNats, tmp_path: Path) -> None:
    stack = Stack(
        tmp_path / "data",
        api_port=free_port(),
        nats_url=secured.url,
        log_dir=tmp_path / "logs",
        extra_env={
            "MIN_FREE_DISK_BYTES": "1",
            "ADMIN_EMAIL": ADMIN_EMAIL,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
        },
        service_env={role: secured.env(role) for role in ("api", "scheduler", "executor")},
    )
    stack.start()
    try:
        token = sign_in_and_make_token(stack.api_url)
        headers = {"Authorization": f"Bearer {token}"}
        with (
            dbs.scratch_pg("perm") as db,
            httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as api,
        ):
            # The connection test is a probe answered by the executor: wait until it serves.
            _wait_for_live_executor(api)
            source = _data(
                api.post(
                    "/api/databases",
                    json={
                        "name": db.name,
                        "type": "postgresql",
                        "host": db.host,
                        "port": db.port,
                        "databaseName": db.name,
                        "username": db.user,
                        "password": db.password,
                    },
                ),
                201,
            )
            _data(
                api.post(
                    "/api/schedules",
                    json={
                        "databaseConfigId": source["id"],
                        "scheduleType": "custom",
                        "cronExpression": "0 3 * * *",
                    },
                ),
                201,
            )
            backup = _data(api.post("/api/backups", json={"databaseId": source["id"]}), 202)
            deadline = time.monotonic() + 90
            record: dict[str, Any] = backup
            while time.monotonic() < deadline:
                record = _data(api.get(f"/api/backups/{backup['id']}"), 200)
                if record["status"] in ("completed", "failed", "cancelled"):
                    break
                time.sleep(0.3)
            assert record["status"] == "completed", record.get("errorMessage")
        time.sleep(2)  # heartbeats and the scheduler's watch have run by now
    finally:
        stack.stop()
    assert secured.violations() == []
