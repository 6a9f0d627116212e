"""Which schedules are due: pure decisions over the schedules the API published and ``now``.

No I/O, no clock: the loop feeds in the KV entries, the current time and what it fired.
For each schedule the planner fires the latest cron slot (in the schedule's zone, via
:func:`lifeboat.policy.cron.due_slot`) after the schedule's floor, the latest of

* ``active_since`` — when the schedule was created, enabled or re-timed (no older slot fires);
* ``last_fired_at`` — the latest slot the API handled (survives scheduler restarts);
* the latest slot this planner itself fired (so it does not fire it again every tick).

However many slots were missed while no scheduler ran, only the latest fires, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from lifeboat.core.errors import ValidationError
from lifeboat.policy.cron import due_slot
from lifeboat.wire.messages import ScheduleEntry


@dataclass(frozen=True, slots=True)
class Fire:
    """Schedule `schedule_id` is due for `slot` (in the schedule's zone)."""

    schedule_id: str
    slot: datetime


@dataclass(frozen=True, slots=True)
class Problem:
    """A schedule that cannot be planned (its cron or zone does not parse here)."""

    schedule_id: str
    message: str


def floor_of(entry: ScheduleEntry, fired: datetime | None) -> datetime:
    """The instant after which the next slot of `entry` may fire."""
    candidates = [entry.active_since, entry.last_fired_at, fired]
    return max(c.astimezone(UTC) for c in candidates if c is not None)


def due_fires(
    entries: Iterable[ScheduleEntry], fired: Mapping[str, datetime], now: datetime
) -> tuple[list[Fire], list[Problem]]:
    """The fires due at `now`, and the entries that could not be planned."""
    fires: list[Fire] = []
    problems: list[Problem] = []
    for entry in entries:
        try:
            slot = due_slot(
                entry.cron_expression,
                entry.timezone,
                floor_of(entry, fired.get(entry.schedule_id)),
                now,
            )
        except ValidationError as exc:
            problems.append(Problem(entry.schedule_id, exc.message))
            continue
        if slot is not None:
            fires.append(Fire(entry.schedule_id, slot))
    return fires, problems


class Planner:
    """The schedules known right now and the slots fired so far (state only, no I/O)."""

    def __init__(self) -> None:
        self._entries: dict[str, ScheduleEntry] = {}
        self._fired: dict[str, datetime] = {}

    @property
    def schedule_ids(self) -> frozenset[str]:
        """Ids of the schedules being planned."""
        return frozenset(self._entries)

    def replace_all(self, entries: Mapping[str, ScheduleEntry]) -> None:
        """Plan exactly `entries` from now on (a fresh snapshot of the KV bucket)."""
        self._entries = dict(entries)
        self._fired = {k: v for k, v in self._fired.items() if k in self._entries}

    def upsert(self, entry: ScheduleEntry) -> None:
        """Add or replace one schedule."""
        self._entries[entry.schedule_id] = entry

    def remove(self, schedule_id: str) -> None:
        """Stop planning a schedule (disabled or deleted)."""
        self._entries.pop(schedule_id, None)
        self._fired.pop(schedule_id, None)

    def due(self, now: datetime) -> tuple[list[Fire], list[Problem]]:
        """What to fire at `now` (see :func:`due_fires`)."""
        return due_fires(self._entries.values(), self._fired, now)

    def mark_fired(self, fire: Fire) -> None:
        """Record that `fire` was published (it will not be due again)."""
        slot = fire.slot.astimezone(UTC)  # compare instants, not wall clocks of one zone
        previous = self._fired.get(fire.schedule_id)
        if previous is None or previous < slot:
            self._fired[fire.schedule_id] = slot
