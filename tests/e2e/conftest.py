"""Fixtures for end-to-end tests: the whole system, as `just up` runs it, on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from scripts.devstack import SERVICES, Stack, free_port
from tests.support.s3 import run_moto

ADMIN_EMAIL = "admin@lifeboat.test"
ADMIN_PASSWORD = "admin-Pa55word-for-e2e"


@pytest.fixture(scope="module")
def stack_services() -> tuple[str, ...]:
    """The processes of a module's stack; a module overrides this to run more replicas."""
    return SERVICES


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """Extra environment of a module's stack; a module overrides this to change settings."""
    return {}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A real S3 HTTP endpoint (moto server) for the module."""
    with run_moto() as url:
        yield url


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    stack_services: tuple[str, ...],
    stack_env: dict[str, str],
) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("stack")
    s = Stack(
        work / "data",
        api_port=free_port(),
        nats_port=free_port(),
        log_dir=work / "logs",
        extra_env={
            "MIN_FREE_DISK_BYTES": "1",
            "LOG_LEVEL": "debug",
            "ADMIN_EMAIL": ADMIN_EMAIL,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            **stack_env,
        },
        services=stack_services,
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()


def sign_in_and_make_token(base_url: str, role: str = "admin") -> str:
    """Sign in as the bootstrap admin (cookie + CSRF) and create an API token of `role`."""
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        me = browser.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert me.status_code == 200, me.text
        csrf = me.json()["data"]["csrfToken"]
        created = browser.post(
            "/api/tokens",
            json={"name": f"e2e-{role}", "role": role},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
        return str(created.json()["data"]["token"])


@pytest.fixture(scope="module")
def admin_token(stack: Stack) -> str:
    return sign_in_and_make_token(stack.api_url)


@pytest.fixture(scope="module")
def api(stack: Stack, admin_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=stack.api_url, timeout=30, headers=headers) as client:
        yield client
