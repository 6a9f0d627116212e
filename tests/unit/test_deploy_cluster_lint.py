"""Lint of compose.cluster.yaml (the 3-node NATS override) as data, like test_deploy_lint.py:
three JetStream nodes on the shipped config, every service on all three over TLS with its own
user from accounts.conf, passwords only as ${VAR} references, R3 streams."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import yaml

from tests.unit.test_deploy_lint import nats_image_of_the_tests

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = (ROOT / "deploy" / "nats" / "cluster" / "accounts.conf").read_text()
REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}$")
NODES = ("nats", "nats-2", "nats-3")
USERS = {
    "api": "lifeboat-api",
    "scheduler": "lifeboat-scheduler",
    "executor": "lifeboat-executor-default",
}


def _services() -> dict[str, dict[str, Any]]:
    loaded = cast(dict[str, Any], yaml.safe_load((ROOT / "compose.cluster.yaml").read_text()))
    assert "version" not in loaded
    return cast(dict[str, dict[str, Any]], loaded["services"])


def test_three_jetstream_nodes_on_the_shipped_config() -> None:
    services = _services()
    names: set[str] = set()
    for node in NODES:
        service = services[node]
        assert str(service["image"]).startswith(nats_image_of_the_tests() + "-")
        mounts = [str(v) for v in service["volumes"]]
        assert "./deploy/nats/cluster:/etc/nats:ro" in mounts
        assert "./deploy/nats/certs:/etc/nats/certs:ro" in mounts
        assert any(m.endswith(":/data") for m in mounts)
        env = cast(dict[str, str], service["environment"])
        names.add(env["NATS_SERVER_NAME"])
        for key, value in env.items():
            if "PASSWORD" in key:
                assert REFERENCE.match(value), key
        assert "healthcheck" in service
    assert names == {"nats-1", "nats-2", "nats-3"}
    conf = (ROOT / "deploy" / "nats" / "cluster" / "nats.conf").read_text()
    for name in names:
        assert f"nats-route://{name}:6222" in conf
    assert "include ./accounts.conf" in conf


def test_services_use_every_node_over_tls_with_their_own_user() -> None:
    services = _services()
    for svc, user in USERS.items():
        env = cast(dict[str, str], services[svc]["environment"])
        urls = env["NATS_URL"].split(",")
        assert urls == [f"tls://nats-{i}:4222" for i in (1, 2, 3)]
        assert env["NATS_TLS_CA"]
        assert env["NATS_USER"] == user and f"user: {user}" in ACCOUNTS
        assert REFERENCE.match(env["NATS_PASSWORD"])
    api_env = cast(dict[str, str], services["api"]["environment"])
    assert api_env["NATS_REPLICAS"] == "3"
