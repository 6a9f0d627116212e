"""NATS is a trust boundary: each service's NATS user (deploy/nats/cluster/accounts.conf, run
here by a real nats-server) may do its own work and nothing of another role's.

Refusals are checked with plain nats-py clients (a refused publish or subscription is an
asynchronous ``Permissions Violation`` error, and a refused JetStream API request gets no
answer); the allowed paths go through the services' own :class:`Bus` calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import cast

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, StreamConfig

from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus, Delivery, KvChange
from lifeboat.wire.connection import NatsOptions
from lifeboat.wire.messages import ScheduleFired
from tests.support.natsauth import ACCOUNTS_CONF, SecuredNats, run_secured_nats

pytestmark = pytest.mark.integration

OTHER_QUEUE = "other"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredNats]:
    with run_secured_nats(tmp_path_factory.mktemp("secured-nats")) as server:
        yield server


def options(server: SecuredNats, role: str) -> NatsOptions:
    """The options a service of `role` connects with (its own user and inbox prefix)."""
    prefix = subjects.inbox_prefix("executor", "default") if role == "executor" else None
    if role in ("api", "scheduler"):
        prefix = subjects.inbox_prefix(role)
    return NatsOptions(
        servers=(server.url,),
        user=server.user(role),
        password=server.passwords[role],
        inbox_prefix=prefix,
    )


class Raw:
    """A plain nats-py client of one role, collecting the server's asynchronous errors."""

    def __init__(self, nc: Client, errors: list[str]) -> None:
        self.nc = nc
        self.errors = errors

    async def refused(self, what: str) -> bool:
        """Whether the server reported a permissions violation naming `what`."""
        await self.nc.flush(timeout=2)
        for _ in range(40):
            if any(
                "permissions violation" in e.lower() and what.lower() in e.lower()
                for e in self.errors
            ):
                return True
            await asyncio.sleep(0.05)
        return False


async def raw(server: SecuredNats, role: str) -> Raw:
    """Connect a plain client as `role`."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    opts = options(server, role)
    nc = await nats.connect(
        servers=[server.url],
        user=opts.user,
        password=opts.password,
        inbox_prefix=opts.inbox_prefix or "_INBOX",
        error_cb=on_error,
        allow_reconnect=False,
    )
    return Raw(nc, errors)


@pytest.fixture(scope="module")
async def api_bus(secured: SecuredNats) -> AsyncIterator[Bus]:
    """The API's bus: creates every stream and bucket, as the API does at start-up."""
    bus = await Bus.connect(options(secured, "api"), name="perm-api")
    await bus.ensure_streams()
    for bucket in (subjects.LEASES_KV, subjects.CANCELS_KV):
        await bus.ensure_kv(bucket)
    yield bus
    await bus.close()


async def api_publish(server: SecuredNats, subject: str, payload: bytes) -> None:
    """Store `payload` on a JetStream subject as the API user (a raw job body is enough for
    the consumers under test)."""
    api = await raw(server, "api")
    try:
        await api.nc.jetstream().publish(subject, payload)
    finally:
        await api.nc.close()


async def _jobs_in(bus: Bus) -> int:
    return int((await bus.stream_info(subjects.JOBS_STREAM))["messages"])


async def test_wrong_password_is_refused_and_never_logged(
    secured: SecuredNats, caplog: pytest.LogCaptureFixture
) -> None:
    password = "p0wrong0password0for0the0test"
    bad = NatsOptions(servers=(secured.url,), user=secured.user("executor"), password=password)
    # nats-py keeps trying (a server may come back); every refusal is logged as a warning.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(Bus.connect(bad, name="perm-bad", connect_timeout=1), 3)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "authorization violation" in logged.lower()
    assert password not in logged
    assert password not in repr(bad)


async def test_executor_does_its_work(secured: SecuredNats, api_bus: Bus) -> None:
    executor = await Bus.connect(
        options(secured, "executor"), name="perm-ex", manages_streams=False
    )
    try:
        await executor.ensure_streams()  # looks the streams up only
        await api_bus.kv_put(subjects.CANCELS_KV, "exec-1", b"cancel")
        await api_publish(secured, subjects.job_subject("default"), b"job-1")
        jobs = executor.jobs("default")
        delivery = await asyncio.wait_for(anext(jobs), 15)
        assert delivery.data == b"job-1"
        await delivery.in_progress()
        await delivery.ack()
        await cast(AsyncGenerator[Delivery], jobs).aclose()
        cancel = await executor.kv_get(subjects.CANCELS_KV, "exec-1")
        assert cancel is not None and cancel.value == b"cancel"
        assert await executor.kv_get(subjects.CANCELS_KV, "exec-9") is None
        revision = await executor.kv_create(subjects.LEASES_KV, "exec-1", b"lease")
        assert revision is not None
        assert await executor.kv_update(subjects.LEASES_KV, "exec-1", b"l2", revision=revision)
        lease = await executor.kv_get(subjects.LEASES_KV, "exec-1")
        assert lease is not None and lease.value == b"l2"
        await executor.publish(subjects.EXECUTOR_HEARTBEAT, b"{}")
    finally:
        await executor.close()
    assert secured.violations() == []


async def test_executor_is_refused_other_roles_subjects(secured: SecuredNats, api_bus: Bus) -> None:
    ex = await raw(secured, "executor")
    js = ex.nc.jetstream(timeout=1.5)
    try:
        before = await _jobs_in(api_bus)
        # publish a job
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await js.publish(subjects.job_subject("default"), b"forged")
        assert await ex.refused(subjects.job_subject("default"))
        assert await _jobs_in(api_bus) == before
        # read another queue's jobs: its consumer, or its executors' inbox
        await api_publish(secured, subjects.job_subject(OTHER_QUEUE), b"other")
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await js.pull_subscribe(
                subjects.job_subject(OTHER_QUEUE),
                durable=subjects.executor_consumer(OTHER_QUEUE),
                config=ConsumerConfig(filter_subject=subjects.job_subject(OTHER_QUEUE)),
            )
        assert await ex.refused(f"LIFEBOAT_JOBS.{subjects.executor_consumer(OTHER_QUEUE)}")
        # its own consumer name with another queue's filter
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await js.add_consumer(
                subjects.JOBS_STREAM,
                ConsumerConfig(
                    durable_name=subjects.executor_consumer("default"),
                    filter_subject=subjects.job_subject(OTHER_QUEUE),
                ),
            )
        other_inbox = subjects.inbox_prefix("executor", OTHER_QUEUE) + ".>"
        await ex.nc.subscribe(other_inbox)
        assert await ex.refused(other_inbox)
        # write a cancellation (reading it is allowed)
        cancels = await js.key_value(subjects.CANCELS_KV)
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await cancels.put("exec-2", b"cancel")
        assert await ex.refused(f"$KV.{subjects.CANCELS_KV}.exec-2")
        # administer streams, fire schedules, answer triggers
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await js.add_stream(StreamConfig(name="EVIL", subjects=["evil.>"]))
        await ex.nc.publish(subjects.fired_subject("s1"), b"{}")
        assert await ex.refused(subjects.fired_subject("s1"))
        await ex.nc.subscribe(subjects.TRIGGER_BACKUP)
        assert await ex.refused(subjects.TRIGGER_BACKUP)
    finally:
        await ex.nc.close()


async def test_scheduler_does_its_work_and_nothing_else(secured: SecuredNats, api_bus: Bus) -> None:
    scheduler = await Bus.connect(
        options(secured, "scheduler"), name="perm-scheduler", manages_streams=False
    )
    try:
        await scheduler.ensure_scheduling()
        await api_bus.kv_put(subjects.SCHEDULES_KV, "sched-1", b"{}")
        watch = scheduler.kv_watch(subjects.SCHEDULES_KV)
        seen = [await asyncio.wait_for(anext(watch), 10) for _ in range(2)]
        assert seen[0] is not None and seen[0].key == "sched-1" and seen[1] is None
        await cast(AsyncGenerator[KvChange | None], watch).aclose()
        fired = ScheduleFired(
            schedule_id="sched-1",
            slot=datetime(2030, 1, 1, tzinfo=UTC),
            fired_at=datetime.now(UTC),
        )
        assert await scheduler.publish_fired(fired) is True
        await scheduler.publish(subjects.SCHEDULER_HEARTBEAT, b"{}")
    finally:
        await scheduler.close()
    violations_before = len(secured.violations())

    sch = await raw(secured, "scheduler")
    js = sch.nc.jetstream(timeout=1.5)
    try:
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await js.publish(subjects.event_subject("backup", "x"), b"forged")
        assert await sch.refused(subjects.event_subject("backup", "x"))
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await js.publish(subjects.job_subject("default"), b"forged")
        kv = await js.key_value(subjects.SCHEDULES_KV)
        with pytest.raises((TimeoutError, nats.errors.TimeoutError)):
            await kv.put("sched-2", b"{}")
        await sch.nc.subscribe(subjects.EVENTS_SUBJECTS)
        assert await sch.refused(subjects.EVENTS_SUBJECTS)
    finally:
        await sch.nc.close()
    assert len(secured.violations()) > violations_before


async def test_trigger_user_can_only_request_a_backup(secured: SecuredNats, api_bus: Bus) -> None:
    async def answer(data: bytes) -> bytes:
        return b"queued:" + data

    sub = await api_bus.serve(subjects.TRIGGER_BACKUP, subjects.API_QUEUE_GROUP, answer)
    trigger = await raw(secured, "trigger")
    try:
        reply = await trigger.nc.request(subjects.TRIGGER_BACKUP, b"shop", timeout=5)
        assert reply.data == b"queued:shop"
        for subject in (subjects.job_subject("default"), subjects.probe_subject("default")):
            await trigger.nc.publish(subject, b"x")
            assert await trigger.refused(subject)
        await trigger.nc.publish("$JS.API.STREAM.INFO.LIFEBOAT_JOBS", b"")
        assert await trigger.refused("$JS.API.STREAM.INFO.LIFEBOAT_JOBS")
        for subject in (subjects.EVENTS_SUBJECTS, subjects.inbox_prefix("api") + ".>"):
            await trigger.nc.subscribe(subject)
            assert await trigger.refused(subject)
    finally:
        await trigger.nc.close()
        await sub.unsubscribe()


async def test_log_lines_and_queue_depth_are_allowed_where_they_go(
    secured: SecuredNats, api_bus: Bus
) -> None:
    """Scheduler and executors ship log lines on their own subject only; the API reads them
    all, and reads the queues' consumer info for /metrics."""
    received: list[bytes] = []
    both = asyncio.Event()

    async def keep(data: bytes) -> None:
        received.append(data)
        if len(received) >= 2:
            both.set()

    sub = await api_bus.subscribe(subjects.LOGS_SUBJECTS, keep)
    try:
        for role in ("scheduler", "executor"):
            client = await raw(secured, role)
            try:
                await client.nc.publish(subjects.log_subject(role), role.encode())
                assert not await client.refused(subjects.log_subject(role)), role
                other = "executor" if role == "scheduler" else "scheduler"
                await client.nc.publish(subjects.log_subject(other), b"forged")
                assert await client.refused(subjects.log_subject(other)), role
            finally:
                await client.nc.close()
        await asyncio.wait_for(both.wait(), 5)
        assert sorted(received) == [b"executor", b"scheduler"]
        assert await api_bus.queue_depth("default") == (0, 0)
    finally:
        await sub.unsubscribe()


def test_accounts_file_names_what_subjects_py_spells() -> None:
    """The permissions name the streams, buckets and subjects of subjects.py (a rename there
    without one here would lock a service out)."""
    text = ACCOUNTS_CONF.read_text()
    for name in (
        subjects.JOBS_STREAM,
        subjects.EVENTS_STREAM,
        subjects.EVENTS_CONSUMER,
        subjects.FIRED_CONSUMER,
        subjects.SCHEDULES_KV,
        subjects.LEASES_KV,
        subjects.CANCELS_KV,
        subjects.TRIGGER_BACKUP,
        subjects.EXECUTOR_HEARTBEAT,
        subjects.SCHEDULER_HEARTBEAT,
        subjects.LOGS_SUBJECTS,
        subjects.log_subject("scheduler"),
        subjects.log_subject("executor"),
        subjects.executor_consumer("default"),
        subjects.probe_subject("default"),
        subjects.inbox_prefix("api"),
        subjects.inbox_prefix("scheduler"),
        subjects.inbox_prefix("executor", "default"),
        subjects.job_subject("default"),
    ):
        assert name in text, name
