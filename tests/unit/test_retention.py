"""The retention plan (lifeboat.policy.retention): tiers, age, size and hybrid, by example (the
invariants, property-based, are in test_retention_properties.py)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import msgspec
import pytest

from lifeboat.core.errors import ValidationError
from lifeboat.policy.retention import (
    BackupInfo,
    Decision,
    Plan,
    RetentionMode,
    RetentionPolicy,
    effective_policy_id,
    period_label,
    plan,
    runs_after,
)

NOW = datetime(2025, 11, 16, 14, 30, tzinfo=UTC)


def backup(
    ident: str,
    started_at: datetime,
    status: str = "completed",
    size: int = 100,
) -> BackupInfo:
    return BackupInfo(id=ident, started_at=started_at, status=status, size_bytes=size)


def hourly_series(start: datetime, hours: int, size: int = 100) -> list[BackupInfo]:
    return [backup(f"b{i:05d}", start + timedelta(hours=i), size=size) for i in range(hours)]


def only(
    *,
    hourly: int = 0,
    daily: int = 0,
    weekly: int = 0,
    monthly: int = 0,
    yearly: int = 0,
    mode: RetentionMode = "count",
    max_age_days: int | None = None,
    max_total_bytes: int | None = None,
    timezone: str = "UTC",
) -> RetentionPolicy:
    """A policy whose tiers are all zero except those given."""
    return RetentionPolicy(
        mode=mode,
        keep_hourly=hourly,
        keep_daily=daily,
        keep_weekly=weekly,
        keep_monthly=monthly,
        keep_yearly=yearly,
        max_age_days=max_age_days,
        max_total_bytes=max_total_bytes,
        timezone=timezone,
    )


# --------------------------------------------------------------------------- examples


def test_default_policy_matches_the_spec() -> None:
    policy = RetentionPolicy()
    assert (policy.mode, policy.timezone) == ("count", "UTC")
    assert [policy.keep(t) for t in ("hourly", "daily", "weekly", "monthly", "yearly")] == [
        24,
        7,
        4,
        12,
        0,
    ]


def test_a_simulated_year_of_hourly_backups() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    backups = hourly_series(start, 8760)
    assert len(backups) == 8760
    last = backups[-1].started_at
    assert last == datetime(2025, 12, 31, 23, tzinfo=UTC)
    result = plan(backups, RetentionPolicy(), last + timedelta(minutes=30))

    # Expected set, from the calendar: the last 24 hours; 23:00 of the last 7 days; the last
    # backup of each of the last 4 ISO weeks (2026-W01 started Monday 2025-12-29, so its last
    # backup is the newest one; the others end on Sundays); 23:00 of each month's last day.
    hourly = {last - timedelta(hours=h) for h in range(24)}
    daily = {last - timedelta(days=d) for d in range(7)}
    sundays = [datetime(2025, 12, day, 23, tzinfo=UTC) for day in (28, 21, 14)]
    assert all(s.isoweekday() == 7 for s in sundays)
    weekly = {last, *sundays}
    monthly = {
        datetime(2025, month, calendar.monthrange(2025, month)[1], 23, tzinfo=UTC)
        for month in range(1, 13)
    }
    expected = hourly | daily | weekly | monthly
    assert len(expected) == 24 + 6 + 2 + 11

    by_id = {b.id: b for b in backups}
    kept = {by_id[d.id].started_at for d in result.keep}
    assert kept == expected
    assert len(result.delete) == 8760 - len(expected)

    reasons = {by_id[d.id].started_at: d.reasons for d in result.keep}
    assert reasons[last] == (
        "newest",
        "hourly 2025-12-31 23:00",
        "daily 2025-12-31",
        "weekly 2026-W01",
        "monthly 2025-12",
    )
    assert reasons[datetime(2025, 12, 31, 0, tzinfo=UTC)] == ("hourly 2025-12-31 00:00",)
    assert reasons[datetime(2025, 12, 28, 23, tzinfo=UTC)] == (
        "daily 2025-12-28",
        "weekly 2025-W52",
    )
    assert reasons[datetime(2025, 12, 14, 23, tzinfo=UTC)] == ("weekly 2025-W50",)
    assert reasons[datetime(2025, 1, 31, 23, tzinfo=UTC)] == ("monthly 2025-01",)
    assert all(d.reasons == ("not kept by any tier",) for d in result.delete)
    # Keep and delete lists are newest first.
    keep_times = [by_id[d.id].started_at for d in result.keep]
    assert keep_times == sorted(keep_times, reverse=True)

    # Stable: applying the plan and planning again deletes nothing more.
    again = plan([by_id[d.id] for d in result.keep], RetentionPolicy(), last + timedelta(hours=1))
    assert again.delete == []
    assert again.keep_ids == result.keep_ids


def test_tiers_count_periods_that_contain_backups() -> None:
    # Backups on three days only, with gaps: "last 2 days" means the 2 newest days that have one.
    backups = [
        backup("a", datetime(2025, 11, 1, 8, tzinfo=UTC)),
        backup("b", datetime(2025, 11, 1, 20, tzinfo=UTC)),
        backup("c", datetime(2025, 11, 5, 9, tzinfo=UTC)),
        backup("d", datetime(2025, 11, 10, 7, tzinfo=UTC)),
        backup("e", datetime(2025, 11, 10, 9, tzinfo=UTC)),
    ]
    policy = only(daily=2)
    result = plan(backups, policy, NOW)
    assert result.keep == [
        Decision("e", ("newest", "daily 2025-11-10")),
        Decision("c", ("daily 2025-11-05",)),
    ]
    assert result.delete_ids == {"a", "b", "d"}


def test_yearly_and_weekly_labels() -> None:
    backups = [
        backup("y2023", datetime(2023, 6, 1, tzinfo=UTC)),
        backup("y2024", datetime(2024, 12, 30, tzinfo=UTC)),  # ISO week 2025-W01
        backup("y2025", datetime(2025, 3, 1, tzinfo=UTC)),
    ]
    policy = only(yearly=2, weekly=2)
    result = plan(backups, policy, NOW)
    assert result.keep == [
        Decision("y2025", ("newest", "weekly 2025-W09", "yearly 2025")),
        Decision("y2024", ("weekly 2025-W01", "yearly 2024")),
    ]
    assert result.delete == [Decision("y2023", ("not kept by any tier",))]
    assert period_label("weekly", datetime(2024, 12, 30, tzinfo=UTC)) == "weekly 2025-W01"
    assert period_label("daily", NOW, "America/New_York") == "daily 2025-11-16"
    assert period_label("daily", datetime(2025, 11, 16, 3, tzinfo=UTC), "America/New_York") == (
        "daily 2025-11-15"
    )


def test_buckets_follow_the_policys_time_zone_and_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2025-10-26: 02:00-03:00 happens twice in Berlin; the two real hours are two buckets.
    first = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert first.astimezone(berlin).hour == second.astimezone(berlin).hour == 2
    backups = [backup("first", first), backup("second", second)]
    policy = RetentionPolicy(timezone="Europe/Berlin")
    result = plan(backups, policy, NOW)
    assert result.keep == [
        Decision(
            "second",
            (
                "newest",
                "hourly 2025-10-26 02:00+01:00",
                "daily 2025-10-26",
                "weekly 2025-W43",
                "monthly 2025-10",
            ),
        ),
        Decision("first", ("hourly 2025-10-26 02:00+02:00",)),
    ]
    # 23:30 UTC on the 15th is already the 16th in Berlin: same local day as 10:00 UTC.
    late = [
        backup("late", datetime(2025, 11, 15, 23, 30, tzinfo=UTC)),
        backup("later", datetime(2025, 11, 16, 10, tzinfo=UTC)),
    ]
    in_berlin = plan(late, only(daily=5, timezone="Europe/Berlin"), NOW)
    in_utc = plan(late, only(daily=5), NOW)
    assert in_berlin.delete_ids == {"late"}
    assert in_utc.delete_ids == set()


def test_failed_and_running_backups_take_no_part() -> None:
    good = [
        backup("old", datetime(2025, 1, 1, tzinfo=UTC)),
        backup("good", datetime(2025, 11, 15, tzinfo=UTC)),
    ]
    others = [
        backup("failed", datetime(2025, 11, 16, tzinfo=UTC), status="failed"),
        backup("running", datetime(2025, 11, 16, 14, tzinfo=UTC), status="running"),
        backup("pending", datetime(2025, 11, 16, 14, 5, tzinfo=UTC), status="pending"),
        backup("cancelled", datetime(2025, 11, 16, 1, tzinfo=UTC), status="cancelled"),
    ]
    policy = only()
    result = plan([*good, *others], policy, NOW)
    # The newest *completed* backup is kept, even with every tier at zero.
    assert result.keep == [Decision("good", ("newest",))]
    assert result.delete == [Decision("old", ("not kept by any tier",))]
    assert plan(others, policy, NOW) == Plan(keep=[], delete=[])
    assert plan([], policy, NOW) == Plan(keep=[], delete=[])


def test_age_mode() -> None:
    backups = [
        backup("new", NOW - timedelta(days=1)),
        backup("edge", NOW - timedelta(days=30)),
        backup("old", NOW - timedelta(days=30, seconds=1)),
    ]
    result = plan(backups, RetentionPolicy(mode="age", max_age_days=30), NOW)
    assert result.keep == [
        Decision("new", ("newest", "within 30 days")),
        Decision("edge", ("within 30 days",)),
    ]
    assert result.delete == [Decision("old", ("older than 30 days",))]
    # Even when everything is too old, the newest stays.
    result = plan(backups, RetentionPolicy(mode="age", max_age_days=1), NOW + timedelta(days=90))
    assert result.keep == [Decision("new", ("newest",))]
    assert result.delete_ids == {"edge", "old"}


def test_size_mode_keeps_the_newest_that_fit() -> None:
    backups = [
        backup("d", NOW - timedelta(hours=1), size=400),
        backup("c", NOW - timedelta(hours=2), size=400),
        backup("b", NOW - timedelta(hours=3), size=300),
        backup("a", NOW - timedelta(hours=4), size=100),  # would fit, but older than b
    ]
    result = plan(backups, RetentionPolicy(mode="size", max_total_bytes=1000), NOW)
    assert result.keep == [
        Decision("d", ("newest", "within 1000 bytes")),
        Decision("c", ("within 1000 bytes",)),
    ]
    assert result.delete == [
        Decision("b", ("over the size limit of 1000 bytes",)),
        Decision("a", ("over the size limit of 1000 bytes",)),
    ]
    # A newest backup bigger than the whole budget is still kept; everything else goes.
    result = plan(backups, RetentionPolicy(mode="size", max_total_bytes=10), NOW)
    assert result.keep == [Decision("d", ("newest",))]
    assert result.delete_ids == {"a", "b", "c"}


def test_hybrid_is_the_intersection() -> None:
    backups = hourly_series(NOW - timedelta(days=10), 240, size=100)
    newest_first = sorted(backups, key=lambda b: b.started_at, reverse=True)
    count_only = plan(backups, only(hourly=5, daily=10), NOW)
    assert len(count_only.keep) == 5 + 9  # the newest day's 23:00... is also an hourly one

    # Age: tier-kept backups older than 3 days go too.
    hybrid_age = plan(backups, only(hourly=5, daily=10, mode="hybrid", max_age_days=3), NOW)
    cutoff = NOW - timedelta(days=3)
    by_id = {b.id: b for b in backups}
    assert hybrid_age.keep_ids == {
        d.id for d in count_only.keep if by_id[d.id].started_at >= cutoff
    }
    assert hybrid_age.delete_ids - count_only.delete_ids == count_only.keep_ids - (
        hybrid_age.keep_ids
    )

    # Size: the budget goes to tier-kept backups only, newest first.
    hybrid_size = plan(backups, only(hourly=5, daily=10, mode="hybrid", max_total_bytes=700), NOW)
    assert [d.id for d in hybrid_size.keep] == [d.id for d in count_only.keep][:7]
    assert hybrid_size.keep[0].id == newest_first[0].id
    deleted_reasons = {d.id: d.reasons for d in hybrid_size.delete}
    assert deleted_reasons[count_only.keep[7].id] == ("over the size limit of 700 bytes",)
    assert deleted_reasons[newest_first[6].id] == ("not kept by any tier",)

    # Both limits and the tiers: every failed condition is listed.
    both = only(hourly=5, daily=10, mode="hybrid", max_age_days=3, max_total_bytes=10_000)
    reasons = {d.id: d.reasons for d in plan(backups, both, NOW).delete}
    assert reasons[newest_first[-1].id] == ("not kept by any tier", "older than 3 days")


def test_count_mode_ignores_limits() -> None:
    backups = hourly_series(NOW - timedelta(days=100), 5, size=10**9)
    limited = RetentionPolicy(max_age_days=1, max_total_bytes=1)
    assert plan(backups, limited, NOW) == plan(backups, RetentionPolicy(), NOW)


def test_hard_limit_deletes_what_tiers_would_keep() -> None:
    backups = [
        backup("new", NOW - timedelta(days=1)),
        backup("edge", NOW - timedelta(days=365)),  # monthly 2024-11, yearly 2024
        backup("old", NOW - timedelta(days=400)),  # monthly 2024-10
        backup("older", NOW - timedelta(days=800)),  # monthly 2023-09, yearly 2023
    ]
    tiers = only(monthly=24, yearly=5)
    everything = {"new", "edge", "old", "older"}
    assert plan(backups, tiers, NOW).keep_ids == everything
    capped = plan(backups, tiers, NOW, max_retention_days=365)
    assert capped.keep == [
        Decision("new", ("newest", "monthly 2025-11", "yearly 2025")),
        Decision("edge", ("monthly 2024-11", "yearly 2024")),
    ]
    assert capped.delete == [
        Decision("old", ("older than MAX_BACKUP_RETENTION_DAYS (365 d)",)),
        Decision("older", ("older than MAX_BACKUP_RETENTION_DAYS (365 d)",)),
    ]
    # Every mode obeys it: age, size and hybrid too.
    for policy in (
        RetentionPolicy(mode="age", max_age_days=1000),
        RetentionPolicy(mode="size", max_total_bytes=10_000),
        only(monthly=24, yearly=5, mode="hybrid", max_age_days=1000, max_total_bytes=10_000),
    ):
        assert plan(backups, policy, NOW).keep_ids == everything
        assert plan(backups, policy, NOW, max_retention_days=365).keep_ids == {"new", "edge"}
    # The newest is kept even when it is over the limit, with nothing else.
    late = plan(backups, tiers, NOW + timedelta(days=5000), max_retention_days=30)
    assert late.keep == [Decision("new", ("newest", "monthly 2025-11", "yearly 2025"))]
    assert {d.reasons for d in late.delete} == {("older than MAX_BACKUP_RETENTION_DAYS (30 d)",)}
    with pytest.raises(ValueError, match="max_retention_days"):
        plan(backups, tiers, NOW, max_retention_days=0)


def test_ties_are_broken_by_id() -> None:
    same = datetime(2025, 11, 16, 10, tzinfo=UTC)
    backups = [backup("x", same), backup("y", same), backup("z", same - timedelta(hours=1))]
    policy = only(hourly=1)
    for order in (backups, backups[::-1]):
        result = plan(order, policy, NOW)
        assert result.keep == [Decision("y", ("newest", "hourly 2025-11-16 10:00"))]
        assert [d.id for d in result.delete] == ["x", "z"]


def test_mixed_zones_are_ordered_by_instant() -> None:
    new_york = ZoneInfo("America/New_York")
    early_utc = backup("early", datetime(2025, 11, 16, 12, tzinfo=UTC))
    late_ny = backup("late", datetime(2025, 11, 16, 8, 30, tzinfo=new_york))  # 13:30 UTC
    result = plan([early_utc, late_ny], only(), NOW)
    assert result.keep_ids == {"late"}


def test_policy_validation() -> None:
    with pytest.raises(ValidationError, match="mode must be one of"):
        RetentionPolicy(mode=cast(Any, "forever"))
    with pytest.raises(msgspec.ValidationError):  # decoding checks the literal itself
        msgspec.convert({"mode": "forever"}, RetentionPolicy)
    bad: list[tuple[dict[str, object], str]] = [
        ({"keep_daily": -1}, "keep_daily"),
        ({"mode": "age"}, "max_age_days"),
        ({"mode": "age", "max_age_days": 0}, "max_age_days"),
        ({"mode": "size"}, "max_total_bytes"),
        ({"max_total_bytes": -5}, "max_total_bytes"),
        ({"timezone": "Mars/Base"}, "timezone"),
    ]
    for fields, name in bad:
        with pytest.raises(ValidationError) as caught:
            msgspec.convert(fields, RetentionPolicy)
        assert name in caught.value.message
        assert any(p["field"] == name for p in caught.value.details)
    decoded = msgspec.json.decode(
        b'{"mode": "hybrid", "keep_hourly": 6, "max_age_days": 90, "timezone": "Europe/Berlin"}',
        type=RetentionPolicy,
    )
    assert decoded == RetentionPolicy(
        mode="hybrid", keep_hourly=6, max_age_days=90, timezone="Europe/Berlin"
    )


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan([], RetentionPolicy(), datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        plan([backup("a", datetime(2025, 1, 1))], RetentionPolicy(), NOW)
    with pytest.raises(ValueError, match="twice"):
        plan([backup("a", NOW), backup("a", NOW, status="failed")], RetentionPolicy(), NOW)


def test_only_a_completed_backup_still_there_triggers_retention() -> None:
    assert runs_after("completed")
    assert not runs_after("completed", deleted=True)
    for status in ("failed", "cancelled", "skipped", "pending", "running"):
        assert not runs_after(status)


def test_a_backup_follows_its_schedules_policy_else_its_own() -> None:
    assert effective_policy_id("sched", "own") == "sched"
    assert effective_policy_id(None, "own") == "own"
    assert effective_policy_id(None, None) is None
