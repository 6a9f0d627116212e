"""Fencing: which delivery attempt of a job may still change anything.

JetStream delivers a job at least once: when an executor stops acknowledging (it crashed, or it
froze past the AckWait: a VM pause, a long GC, a network partition), the job goes to another
executor as attempt n+1 while attempt n may still wake up later. Ignoring the stale attempt's
*events* is not enough; it must not change the bytes or the target either. So:

* **One lease per execution** in the :data:`~lifeboat.wire.subjects.LEASES_KV` bucket (key:
  the execution id), written only by compare-and-set on the key's revision. An attempt
  *claims* it when it starts (taking it over from an older attempt), and every irreversible
  step first *holds* it: a compare-and-set naming the revision this attempt last wrote. If any
  other attempt wrote since, the step is refused (:class:`~lifeboat.core.errors.FencedError`)
  and the stale attempt removes what it made and reports nothing.
* **Irreversible steps**: publishing a local artifact (a no-replace ``link``), completing an S3
  upload, writing a manifest, starting to modify a restore's target (phase ``touching``), and
  the result itself (phase ``finished``, which stores the result event so that a redelivery
  publishes it again instead of redoing the work).
* **Attempt-specific names**: attempt n ≥ 2 writes ``…-a<n>.dump.zst`` locally and in S3, so
  even a stale attempt frozen *between* its hold and its commit publishes under its own name,
  never over the recorded one; the newer attempt removes older attempts' leftovers when it
  claims the lease, and a fenced attempt removes what it published.
* **Restores are at most once**: once an attempt entered ``touching``, no other attempt ever
  touches that target. A redelivered restore finding an older attempt ``touching`` ends the
  execution as failed ("the executor stopped responding; the target may be partly
  restored") without running; if that older attempt later wakes and finishes, it records its
  real outcome over that verdict (it is the one that touched the target).
* **Cancellation**: the API sets the execution id in :data:`~lifeboat.wire.subjects.CANCELS_KV`;
  a claim and every hold check it (and the running job polls it with its heartbeat).
* **Replays**: a job message published again after its execution finished finds the lease
  ``finished`` and only republishes the stored result (which the API ignores). Job messages are
  authenticated (an HMAC under a key derived from ``EXECUTOR_SEAL_KEY``) and refused once older
  than the lease bucket's TTL, after which leases expire.

Liveness comes from JetStream (AckWait, kept alive by ``in_progress`` heartbeats); the lease is
not a timer, only the record of which attempt owns the job.

**NATS blips** (a cluster electing a new leader, a reconnect) do not fail a step: reads and
compare-and-sets are retried for up to ``patience_s``. A compare-and-set whose reply was lost
may have landed, so before writing again the lease is read: exactly the lease this attempt
wrote means it did (the write is taken), any other change means another attempt took over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Literal, TypeVar

import msgspec

from lifeboat.core.errors import FencedError, JobCancelledError, UnavailableError
from lifeboat.wire import subjects
from lifeboat.wire.bus import Bus

LeasePhase = Literal["claimed", "touching", "finished"]

Verdict = Literal["run", "stale", "duplicate", "ended", "interrupted"]
"""What a new attempt does with its job (see :func:`verdict`)."""


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    """The value of one execution's key in the leases bucket."""

    execution_id: str
    attempt: int
    executor_id: str
    phase: LeasePhase
    at: datetime
    touched_by: int | None = None
    """The attempt that started modifying a restore's target (None: untouched)."""
    result: bytes | None = None
    """The encoded result event, once ``finished``."""
    message: int = 0
    """The stream sequence of the job message the attempts are deliveries of: another message
    of the same execution (a replay) is a duplicate, whatever its delivery count."""


class Cancellation(msgspec.Struct, frozen=True, kw_only=True):
    """The value of an execution's key in the cancellations bucket."""

    by: str
    at: datetime


_lease_decoder = msgspec.json.Decoder(Lease)

_T = TypeVar("_T")

_FIRST_RETRY_S = 0.25
_MAX_RETRY_S = 2.0


async def _once(step: Callable[[], Awaitable[_T]]) -> _T:
    return await step()


def verdict(current: Lease | None, *, attempt: int, restore: bool, message: int = 0) -> Verdict:
    """What delivery `attempt` of job message `message` may do, given the lease as it stands.

    * ``run``: nobody holds it, or an older attempt does that has not touched a target;
    * ``stale``: a newer (or the same) delivery of the same message exists: this one is a ghost;
    * ``duplicate``: another message of the same execution holds it (a replay): drop this one;
    * ``ended``: the execution finished; only its stored result may be published again;
    * ``interrupted``: a restore whose older attempt was modifying the target: never again.
    """
    if current is None:
        return "run"
    if current.phase == "finished":
        return "ended"
    if current.message != message:
        return "duplicate"
    if current.attempt >= attempt:
        return "stale"
    if restore and current.touched_by is not None:
        return "interrupted"
    return "run"


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


class Fence:
    """One attempt's hold on its execution's lease."""

    def __init__(
        self,
        bus: Bus,
        *,
        execution_id: str,
        attempt: int,
        executor_id: str,
        message: int = 0,
        patience_s: float = 20.0,
    ) -> None:
        self.bus = bus
        self.patience_s = patience_s
        """How long a read or write rides out NATS being unavailable before giving up."""
        self.execution_id = execution_id
        self.attempt = attempt
        self.executor_id = executor_id
        self.message = message
        self.lease: Lease | None = None
        """The lease as this attempt last wrote it."""
        self.previous: Lease | None = None
        """The lease as :meth:`claim` found it (None: the first attempt)."""
        self._revision = 0
        # Copies of one backup commit concurrently (local and S3): their holds must take turns,
        # or the second would name a revision the first just replaced and fence itself.
        self._turn = asyncio.Lock()

    async def _read(self) -> tuple[Lease | None, int]:
        return await self._patiently(self._read_once)

    async def _read_once(self) -> tuple[Lease | None, int]:
        entry = await self.bus.kv_get(subjects.LEASES_KV, self.execution_id)
        if entry is None:
            return None, 0
        try:
            return _lease_decoder.decode(entry.value), entry.revision
        except msgspec.DecodeError:
            # Not ours to interpret: treat as held by somebody else.
            return (
                Lease(
                    execution_id=self.execution_id,
                    attempt=1 << 30,
                    executor_id="?",
                    phase="claimed",
                    at=now(),
                ),
                entry.revision,
            )

    async def _write_once(self, lease: Lease, revision: int) -> int | None:
        value = msgspec.json.encode(lease)
        if revision == 0:
            return await self.bus.kv_create(subjects.LEASES_KV, self.execution_id, value)
        return await self.bus.kv_update(
            subjects.LEASES_KV, self.execution_id, value, revision=revision
        )

    async def _patiently(self, step: Callable[[], Awaitable[_T]]) -> _T:
        """`step`, retried while NATS is unavailable, for up to :attr:`patience_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience_s
        delay = _FIRST_RETRY_S
        while True:
            try:
                return await step()
            except UnavailableError:
                if loop.time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_RETRY_S)

    async def _write(self, lease: Lease, revision: int) -> int | None:
        """Compare-and-set `lease` on `revision`: the new revision, or None when another
        attempt wrote since. Rides out NATS blips (see the module's notes)."""
        tried = False

        async def attempt() -> int | None:
            nonlocal tried
            if tried:
                current, current_revision = await self._read_once()
                if current == lease:
                    return current_revision  # the lost reply's write landed
                if current_revision != revision:
                    return None
            tried = True
            return await self._write_once(lease, revision)

        return await self._patiently(attempt)

    async def claim(self, *, restore: bool) -> Verdict:
        """Take the lease for this attempt if :func:`verdict` says ``run``.

        :attr:`previous` is the lease as found (its ``result`` for ``ended``, its
        ``touched_by`` for ``interrupted``).
        """
        while True:
            current, revision = await self._read()
            self.previous = current
            decided = verdict(current, attempt=self.attempt, restore=restore, message=self.message)
            if decided != "run":
                return decided
            mine = Lease(
                execution_id=self.execution_id,
                attempt=self.attempt,
                executor_id=self.executor_id,
                phase="claimed",
                at=now(),
                message=self.message,
            )
            written = await self._write(mine, revision)
            if written is not None:
                self.lease, self._revision = mine, written
                return "run"
            # Another attempt wrote in between: decide again on what it wrote.

    async def cancel_requested(self, *, patient: bool = True) -> Cancellation | None:
        """The user's cancellation of this execution, if one was asked for (`patient`: riding
        out NATS blips; a periodic check that asks again soon need not)."""
        entry = await (self._patiently if patient else _once)(
            lambda: self.bus.kv_get(subjects.CANCELS_KV, self.execution_id)
        )
        if entry is None:
            return None
        try:
            return msgspec.json.decode(entry.value, type=Cancellation)
        except msgspec.DecodeError:
            return Cancellation(by="?", at=now())

    async def still_mine(self) -> bool:
        """Whether the lease still names this attempt (a read, no write: the holds before each
        step are what guard; this only lets a stale attempt stop early)."""
        current, _ = await self._read()
        return (
            current is not None
            and current.attempt == self.attempt
            and current.message == self.message
            and current.executor_id == self.executor_id
        )

    async def hold(self, phase: LeasePhase | None = None) -> None:
        """Prove this attempt still holds the job right before an irreversible step.

        Raises:
            JobCancelledError: the user cancelled the execution.
            FencedError: another attempt took the job over (or it already ended).
        """
        async with self._turn:
            await self._hold(phase)

    async def _hold(self, phase: LeasePhase | None) -> None:
        if self.lease is None:
            raise FencedError("this attempt never held the job")
        if (cancel := await self.cancel_requested()) is not None:
            raise JobCancelledError(f"cancelled by {cancel.by}")
        touched = self.attempt if phase == "touching" else self.lease.touched_by
        mine = msgspec.structs.replace(
            self.lease, phase=phase or self.lease.phase, at=now(), touched_by=touched
        )
        written = await self._write(mine, self._revision)
        if written is None:
            raise FencedError(
                f"attempt {self.attempt} of {self.execution_id} lost its lease to another"
                " attempt; it changes nothing more"
            )
        self.lease, self._revision = mine, written

    async def finish(self, result: bytes, *, cancellable: bool = True) -> None:
        """Record the result (phase ``finished``): the last step that needs the lease.

        A cancellation that arrived before this point wins (`cancellable`): the caller removes
        what it published and reports the execution cancelled instead.

        Raises:
            JobCancelledError: the user cancelled the execution first (if `cancellable`).
            FencedError: another attempt owns the execution's record. The exception: the
                restore attempt that touched the target records its real outcome even after
                a newer attempt declared it interrupted.
        """
        async with self._turn:
            await self._finish(result, cancellable=cancellable)

    async def _finish(self, result: bytes, *, cancellable: bool) -> None:
        if self.lease is None:
            raise FencedError("this attempt never held the job")
        if cancellable and (cancel := await self.cancel_requested()) is not None:
            raise JobCancelledError(f"cancelled by {cancel.by}")
        mine = msgspec.structs.replace(self.lease, phase="finished", at=now(), result=result)
        written = await self._write(mine, self._revision)
        if written is not None:
            self.lease, self._revision = mine, written
            return
        current, revision = await self._read()
        if (
            current is not None
            and current.phase == "finished"
            and current.touched_by == self.attempt
            and current.attempt != self.attempt
        ):
            # A newer attempt declared this restore interrupted: the attempt that touched the
            # target knows better.
            mine = msgspec.structs.replace(mine, touched_by=self.attempt)
            written = await self._write(mine, revision)
            if written is not None:
                self.lease, self._revision = mine, written
                return
        raise FencedError(
            f"attempt {self.attempt} of {self.execution_id} lost its lease before recording"
            " its result; it reports nothing"
        )

    async def conclude(self, result: bytes, *, touched_by: int | None) -> bool:
        """Record a result without ever having run (an interrupted restore): compare-and-set
        on the lease as :meth:`claim` found it. False when somebody wrote in between."""
        current, revision = await self._read()
        if current != self.previous:
            return False
        lease = Lease(
            execution_id=self.execution_id,
            attempt=self.attempt,
            executor_id=self.executor_id,
            phase="finished",
            at=now(),
            touched_by=touched_by,
            result=result,
            message=self.message,
        )
        written = await self._write(lease, revision)
        if written is None:
            return False
        self.lease, self._revision = lease, written
        return True


async def request_cancel(bus: Bus, execution_id: str, *, by: str) -> None:
    """Ask whichever attempt runs (or will run) `execution_id` to stop (API side)."""
    await bus.kv_put(
        subjects.CANCELS_KV, execution_id, msgspec.json.encode(Cancellation(by=by, at=now()))
    )
