"""A lease survives NATS blips: a hold made while the server restarts (as a cluster node does
when the stream's leader dies) waits for it instead of failing the step, and a compare-and-set
whose reply was lost is recognised as landed instead of being taken for a takeover.

Seen in the fault suite: the local copy of a backup failed ("cannot write LIFEBOAT_LEASES")
because its hold ran while the cluster elected a new leader, while the S3 copy, a second
later, succeeded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lifeboat.core.errors import FencedError, UnavailableError
from lifeboat.wire import subjects
from lifeboat.wire.bus import LEASE_TTL_S, Bus
from lifeboat.wire.lease import Fence
from tests.support.natsd import free_port, run_nats

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


class LostReplyBus(Bus):
    """A real bus whose next lease update reaches the server but whose reply is lost."""

    lose_next_reply = False

    async def kv_update(self, bucket: str, key: str, value: bytes, *, revision: int) -> int | None:
        written = await super().kv_update(bucket, key, value, revision=revision)
        if bucket == subjects.LEASES_KV and self.lose_next_reply:
            self.lose_next_reply = False
            raise UnavailableError("cannot write: nats: timeout (reply lost)")
        return written


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[LostReplyBus]:
    connected = await LostReplyBus.connect(nats_url, name="test-lease-blips")
    await connected.ensure_streams()
    await connected.ensure_fencing(ttl_s=LEASE_TTL_S)
    yield connected
    await connected.close()


async def test_a_write_whose_reply_was_lost_counts_as_written(bus: LostReplyBus) -> None:
    fence = Fence(bus, execution_id=str(uuid.uuid4()), attempt=1, executor_id="ex-1")
    assert await fence.claim(restore=False) == "run"
    bus.lose_next_reply = True
    await fence.hold("touching")
    assert not bus.lose_next_reply, "the update never ran"
    # The revision taken is the server's: the next holds and the result still go through.
    await fence.hold()
    await fence.finish(b"{}")
    entry = await bus.kv_get(subjects.LEASES_KV, fence.execution_id)
    assert entry is not None and b'"finished"' in entry.value


async def test_a_lost_reply_is_no_licence_after_a_takeover(bus: LostReplyBus) -> None:
    """The retry after a lost reply still refuses when another attempt wrote in between."""
    execution_id = str(uuid.uuid4())
    first = Fence(bus, execution_id=execution_id, attempt=1, executor_id="ex-1")
    assert await first.claim(restore=False) == "run"
    second = Fence(bus, execution_id=execution_id, attempt=2, executor_id="ex-2")
    assert await second.claim(restore=False) == "run"
    bus.lose_next_reply = True  # (the update is refused by the server before any reply)
    with pytest.raises(FencedError):
        await first.hold()


async def test_a_hold_waits_out_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    store = tmp_path / "nats"
    with run_nats(store, port) as url:
        bus = await Bus.connect(url, name="test-lease-restart")
        await bus.ensure_streams()
        await bus.ensure_fencing(ttl_s=LEASE_TTL_S)
        fence = Fence(
            bus, execution_id=str(uuid.uuid4()), attempt=1, executor_id="ex-1", patience_s=20
        )
        assert await fence.claim(restore=False) == "run"
    try:
        # The server is down: the hold keeps trying; the server comes back 2 s later.
        holding = asyncio.ensure_future(fence.hold("touching"))
        await asyncio.sleep(2)
        assert not holding.done(), holding
        with run_nats(store, port):
            await asyncio.wait_for(holding, 20)
            holding.result()
            assert fence.lease is not None and fence.lease.touched_by == 1
            await fence.finish(b"{}")
    finally:
        await bus.close()


async def test_a_hold_gives_up_after_its_patience(tmp_path: Path) -> None:
    port = free_port()
    store = tmp_path / "nats"
    with run_nats(store, port) as url:
        bus = await Bus.connect(url, name="test-lease-down")
        await bus.ensure_streams()
        await bus.ensure_fencing(ttl_s=LEASE_TTL_S)
        fence = Fence(
            bus, execution_id=str(uuid.uuid4()), attempt=1, executor_id="ex-1", patience_s=2
        )
        assert await fence.claim(restore=False) == "run"
    try:
        with pytest.raises(UnavailableError):
            await asyncio.wait_for(fence.hold(), 30)
    finally:
        await bus.close()
