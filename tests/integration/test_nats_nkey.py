"""NATS_NKEY_SEED: a service authenticates with an nkey (no password on the wire or in the
server's config), against a real nats-server that knows only the public key."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import nkeys
import pytest

from lifeboat.wire.bus import Bus
from lifeboat.wire.connection import NatsOptions, options_from_env
from lifeboat.wire.messages import ScheduleFired
from tests.support.natsd import free_port, nats_binary, wait_for_port

pytestmark = pytest.mark.integration


def new_user_seed() -> bytes:
    """A fresh user nkey seed (``SU…``), as ``nk -gen user`` makes one."""
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


@pytest.fixture(scope="module")
def seed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nkey") / "service.nk"
    path.write_bytes(new_user_seed())
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def nkey_server(tmp_path_factory: pytest.TempPathFactory, seed_file: Path) -> Iterator[str]:
    public = bytes(nkeys.from_seed(bytearray(seed_file.read_bytes())).public_key).decode()  # pyright: ignore[reportUnknownArgumentType]
    work = tmp_path_factory.mktemp("nkey-nats")
    port = free_port()
    config = work / "nats.conf"
    config.write_text(
        f'listen: "127.0.0.1:{port}"\n'
        f'jetstream {{ store_dir: "{work / "js"}" }}\n'
        f'authorization {{ users = [ {{ nkey: "{public}" }} ] }}\n'
    )
    proc = subprocess.Popen(
        [nats_binary(), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, 10)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_service_connects_with_its_nkey_seed(nkey_server: str, seed_file: Path) -> None:
    options = options_from_env({"NATS_URL": nkey_server, "NATS_NKEY_SEED": str(seed_file)})
    assert options.nkey_seed_file == seed_file
    bus = await Bus.connect(options, name="nkey-test")
    try:
        await bus.ensure_streams()
        fired = ScheduleFired(schedule_id="s1", slot=datetime.now(UTC))
        assert await bus.publish_fired(fired)
    finally:
        await bus.close()


async def test_without_the_seed_or_with_another_it_is_refused(
    nkey_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = tmp_path / "other.nk"
    stranger.write_bytes(new_user_seed())
    for options in (
        NatsOptions.from_url(nkey_server),
        NatsOptions(servers=(nkey_server,), nkey_seed_file=stranger),
    ):
        # nats-py keeps trying (a server may come back); every refusal is logged.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(Bus.connect(options, name="refused", connect_timeout=1), 3)
    logged = "\n".join(record.getMessage() for record in caplog.records).lower()
    assert "authorization violation" in logged
