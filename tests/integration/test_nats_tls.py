"""The shipped cluster node config (deploy/nats/cluster/nats.conf: TLS, JetStream, accounts)
runs, and the Bus connects to it over TLS with NATS_TLS_CA and its own user; certificates are
made with the openssl commands that file documents."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus
from lifeboat.wire.connection import options_from_env
from tests.support.natsauth import USERS
from tests.support.natsd import free_port, nats_binary, wait_for_port

pytestmark = pytest.mark.integration

CLUSTER_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "cluster" / "nats.conf"


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A CA and a server certificate for localhost, as the comment in nats.conf says."""
    _openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
             "-subj", "/CN=lifeboat-nats-ca", "-keyout", "ca-key.pem", "-out", "ca.pem")  # fmt: skip
    _openssl(directory, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=lifeboat-nats",
             "-keyout", "server-key.pem", "-out", "server.csr")  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=DNS:nats-1,DNS:nats-2,DNS:nats-3,DNS:localhost,IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl(directory, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
             "ca-key.pem", "-CAcreateserial", "-days", "30", "-extfile", "server.ext",
             "-out", "server.pem")  # fmt: skip


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_bus_over_tls_to_the_shipped_node_config(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certificates(certs)
    port = free_port()
    text = CLUSTER_CONF.read_text()
    # Only what must differ on a test machine: ports, paths; TLS, accounts and JetStream stay.
    text = text.replace("/etc/nats/certs", str(certs))
    text = text.replace("store_dir: /data", f'store_dir: "{tmp_path / "js"}"')
    text = re.sub(r"(?m)^port: 4222$", f"port: {port}\nhost: 127.0.0.1", text)
    text = re.sub(r"(?m)^http_port: 8222$", f"http_port: {free_port()}", text)
    # One node alone: without its peers a clustered JetStream has no leader, so the cluster
    # block goes (tests/integration/test_nats_cluster.py covers clustering).
    head, _, tail = text.partition("\ncluster {")
    text = head + "\n" + tail[tail.index("\n}\n") + 3 :]
    (tmp_path / "nats.conf").write_text(text)
    shutil.copyfile(CLUSTER_CONF.with_name("accounts.conf"), tmp_path / "accounts.conf")
    passwords = {variable: f"p{os.urandom(8).hex()}" for _, variable in USERS.values()}
    env = {**os.environ, **passwords, "NATS_SERVER_NAME": "nats-test"}
    with (tmp_path / "nats.log").open("wb") as log:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before any await
            [nats_binary(), "-c", str(tmp_path / "nats.conf")], env=env, stdout=log, stderr=log
        )
    try:
        wait_for_port(port, 20)
        user, variable = USERS["api"]
        options = options_from_env(
            {
                "NATS_URL": f"tls://localhost:{port}",
                "NATS_USER": user,
                "NATS_PASSWORD": passwords[variable],
                "NATS_TLS_CA": str(certs / "ca.pem"),
            },
            inbox_prefix=subjects.inbox_prefix("api"),
        )
        bus = await Bus.connect(options, name="tls-test")
        try:
            await bus.ensure_streams()
            assert (await bus.stream_info(subjects.JOBS_STREAM))["messages"] == 0
        finally:
            await bus.close()
        # Plain text is refused: the node speaks TLS only.
        plain = options_from_env(
            {"NATS_URL": f"nats://localhost:{port}", "NATS_USER": user,
             "NATS_PASSWORD": passwords[variable]}
        )  # fmt: skip
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(Bus.connect(plain, name="plain", connect_timeout=1), 3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
