"""The scheduler's pure planner: which slots are due, missed slots collapsing, DST, dedup ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from lifeboat.scheduler.planner import Fire, Planner, due_fires
from lifeboat.wire.messages import ScheduleEntry, ScheduleFired

T0 = datetime(2025, 11, 16, 10, 0, 30, tzinfo=UTC)


def entry(
    cron: str = "* * * * *",
    *,
    tz: str = "UTC",
    since: datetime = T0 - timedelta(hours=1),
    last: datetime | None = None,
    schedule_id: str = "s1",
) -> ScheduleEntry:
    return ScheduleEntry(
        schedule_id=schedule_id,
        cron_expression=cron,
        timezone=tz,
        active_since=since,
        last_fired_at=last,
    )


def test_latest_slot_fires_once() -> None:
    planner = Planner()
    planner.upsert(entry())
    fires, problems = planner.due(T0)
    assert problems == []
    assert fires == [Fire("s1", datetime(2025, 11, 16, 10, 0, tzinfo=ZoneInfo("UTC")))]
    planner.mark_fired(fires[0])
    assert planner.due(T0)[0] == []
    assert planner.due(T0 + timedelta(seconds=29))[0] == []
    assert [f.slot.minute for f in planner.due(T0 + timedelta(seconds=30))[0]] == [1]


def test_missed_slots_collapse_into_one() -> None:
    # Last handled slot three hours ago: only the latest of the ~180 missed slots fires.
    fires, _ = due_fires([entry(last=T0 - timedelta(hours=3))], {}, T0)
    assert len(fires) == 1 and fires[0].slot == datetime(2025, 11, 16, 10, 0, tzinfo=UTC)


def test_nothing_fires_for_slots_before_active_since() -> None:
    assert due_fires([entry("0 2 * * *", since=T0)], {}, T0) == ([], [])
    fires, _ = due_fires([entry("0 2 * * *", since=T0)], {}, T0 + timedelta(days=1))
    assert [f.slot.day for f in fires] == [17]


def test_last_fired_from_the_api_wins_over_an_older_local_memory() -> None:
    slot = datetime(2025, 11, 16, 10, 0, tzinfo=UTC)
    assert due_fires([entry(last=slot)], {"s1": slot - timedelta(minutes=5)}, T0)[0] == []


def test_schedule_zone_and_dst_gap() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    since = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)
    # 02:30 does not exist in Berlin on 2025-03-30: the slot runs when the clocks jump (03:00).
    now = datetime(2025, 3, 30, 1, 0, 1, tzinfo=UTC)
    fires, _ = due_fires([entry("30 2 * * *", tz="Europe/Berlin", since=since)], {}, now)
    assert [f.slot for f in fires] == [datetime(2025, 3, 30, 3, 0, tzinfo=berlin)]
    assert fires[0].slot.utcoffset() == timedelta(hours=2)


def test_bad_entries_are_reported_not_fatal() -> None:
    fires, problems = due_fires(
        [entry("not a cron", schedule_id="bad"), entry(schedule_id="good")], {}, T0
    )
    assert [f.schedule_id for f in fires] == ["good"]
    assert [p.schedule_id for p in problems] == ["bad"]


def test_removed_and_replaced_schedules() -> None:
    planner = Planner()
    planner.replace_all({"s1": entry(), "s2": entry(schedule_id="s2")})
    assert planner.schedule_ids == {"s1", "s2"}
    planner.remove("s1")
    planner.replace_all({"s3": entry(schedule_id="s3")})
    assert planner.schedule_ids == {"s3"}
    assert [f.schedule_id for f in planner.due(T0)[0]] == ["s3"]


def test_dedup_id_is_the_same_for_every_replica_and_zone() -> None:
    utc_slot = datetime(2025, 11, 16, 9, 0, tzinfo=UTC)
    local_slot = utc_slot.astimezone(ZoneInfo("Europe/Berlin"))
    a = ScheduleFired(schedule_id="s1", slot=utc_slot, scheduler_id="a")
    b = ScheduleFired(schedule_id="s1", slot=local_slot, scheduler_id="b")
    assert a.dedup_id == b.dedup_id == "s1:2025-11-16T09:00:00+00:00"
    retry = ScheduleFired(schedule_id="s1", slot=utc_slot, retry=2)
    assert retry.dedup_id == "s1:2025-11-16T09:00:00+00:00:retry2"
