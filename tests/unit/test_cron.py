"""Cron expressions, time zones, DST and the scheduler's due slot (lifeboat.policy.cron)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lifeboat.core.errors import ValidationError
from lifeboat.policy.cron import (
    MAX_RUNS,
    PREDEFINED,
    due_slot,
    next_runs,
    validate_cron,
    validate_timezone,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def iso(values: list[datetime]) -> list[str]:
    return [v.isoformat() for v in values]


def utc(values: list[datetime]) -> list[datetime]:
    return [v.astimezone(UTC) for v in values]


def gaps_in_utc(values: list[datetime]) -> list[timedelta]:
    """Real time between consecutive values (within one zone Python subtracts wall clocks)."""
    instants = utc(values)
    return [b - a for a, b in itertools.pairwise(instants)]


# --------------------------------------------------------------------------- validation


def test_predefined_schedules_follow_the_spec() -> None:
    assert PREDEFINED == {
        "hourly": "0 * * * *",
        "daily": "0 2 * * *",
        "weekly": "0 3 * * 0",
        "monthly": "0 4 1 * *",
    }
    for name, expression in PREDEFINED.items():
        assert validate_cron(name) == expression
        assert validate_cron(name.upper()) == expression
        assert validate_cron(expression) == expression


@pytest.mark.parametrize(
    ("given_expr", "normalized"),
    [
        ("  */15   *  * * *  ", "*/15 * * * *"),
        ("0 9-17/2 * * mon-fri", "0 9-17/2 * * mon-fri"),
        ("0 0 1,15 JAN,jul *", "0 0 1,15 JAN,jul *"),
        ("5/20 * * * 7", "5/20 * * * 7"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("0 0 31 2 1", "0 0 31 2 1"),  # day of month OR day of week: Mondays of February
        ("@daily", "0 0 * * *"),
        ("@yearly", "0 0 1 1 *"),
    ],
)
def test_valid_expressions_are_normalized(given_expr: str, normalized: str) -> None:
    assert validate_cron(given_expr) == normalized


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("", "empty"),
        ("* * * *", "4 fields; expected 5"),
        ("0 * * * * *", "6 fields; expected 5"),
        ("60 * * * *", "minute value 60 is out of range 0-59"),
        ("0 24 * * *", "hour value 24 is out of range 0-23"),
        ("0 0 0 * *", "day of month value 0 is out of range 1-31"),
        ("0 0 32 * *", "day of month value 32 is out of range 1-31"),
        ("0 0 * 13 *", "month value 13 is out of range 1-12"),
        ("0 0 * * 8", "day of week value 8 is out of range 0-7"),
        ("0 0 * foo *", "month value 'foo' is neither a number nor a name"),
        ("0 0 * * funday", "day of week value 'funday'"),
        ("x * * * *", "minute value 'x' is not a number"),
        ("0 0 L * *", "L, W, ? and # are not supported"),
        ("0 0 ? * 1", "unsupported syntax '?'"),
        ("0 0 * * 1#2", "unsupported syntax '#'"),
        ("*/0 * * * *", "minute step '0'"),
        ("*/x * * * *", "minute step 'x'"),
        ("30-10 * * * *", "minute range '30-10' is reversed"),
        ("0 0 1,,2 * *", "empty list item"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("@reboot", "unknown macro"),
        ("\u00b2 * * * *", "unsupported syntax"),
        ("0 " * 150, "longer than 200 characters"),
    ],
)
def test_invalid_expressions_say_what_is_wrong(expr: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_cron(expr)
    assert fragment in caught.value.message
    assert caught.value.code == "VALIDATION_ERROR"


def test_timezones() -> None:
    assert validate_timezone("Europe/Berlin") == BERLIN
    assert validate_timezone("UTC") == ZoneInfo("UTC")
    for bad in ["", "Mars/Olympus_Mons", "localtime", "../../etc/passwd", "europe/berlin"]:
        with pytest.raises(ValidationError, match="unknown time zone"):
            validate_timezone(bad)
    with pytest.raises(ValidationError):
        next_runs("0 * * * *", "Not/AZone", datetime(2025, 1, 1, tzinfo=UTC), 1)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_runs("0 * * * *", "UTC", datetime(2025, 1, 1), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_slot("0 * * * *", "UTC", None, datetime(2025, 1, 1))
    with pytest.raises(ValidationError, match="count"):
        next_runs("0 * * * *", "UTC", datetime(2025, 1, 1, tzinfo=UTC), MAX_RUNS + 1)
    with pytest.raises(ValidationError, match="count"):
        next_runs("0 * * * *", "UTC", datetime(2025, 1, 1, tzinfo=UTC), -1)
    assert next_runs("0 * * * *", "UTC", datetime(2025, 1, 1, tzinfo=UTC), 0) == []


# --------------------------------------------------------------------------- next runs


def test_preview_in_the_schedules_zone() -> None:
    after = datetime(2025, 11, 16, 13, 30, tzinfo=UTC)  # 14:30 in Berlin
    assert iso(next_runs("daily", "Europe/Berlin", after, 3)) == [
        "2025-11-17T02:00:00+01:00",
        "2025-11-18T02:00:00+01:00",
        "2025-11-19T02:00:00+01:00",
    ]
    assert iso(next_runs("weekly", BERLIN, after, 2)) == [
        "2025-11-23T03:00:00+01:00",  # a Sunday
        "2025-11-30T03:00:00+01:00",
    ]
    assert iso(next_runs("monthly", BERLIN, after, 2)) == [
        "2025-12-01T04:00:00+01:00",
        "2026-01-01T04:00:00+01:00",
    ]
    # Strictly after: a slot equal to `after` is not returned.
    on_slot = datetime(2025, 11, 16, 15, 0, tzinfo=BERLIN)
    assert next_runs("hourly", BERLIN, on_slot, 1) == [datetime(2025, 11, 16, 16, tzinfo=BERLIN)]


def test_ranges_steps_and_names() -> None:
    saturday = datetime(2025, 11, 15, 12, tzinfo=UTC)
    runs = next_runs("0 9-17/4 * * mon-fri", "UTC", saturday, 4)
    assert iso(runs) == [
        "2025-11-17T09:00:00+00:00",
        "2025-11-17T13:00:00+00:00",
        "2025-11-17T17:00:00+00:00",
        "2025-11-18T09:00:00+00:00",
    ]
    runs = next_runs("5/20 * * * 7", "UTC", saturday, 4)  # 7 is Sunday too
    assert iso(runs) == [
        "2025-11-16T00:05:00+00:00",
        "2025-11-16T00:25:00+00:00",
        "2025-11-16T00:45:00+00:00",
        "2025-11-16T01:05:00+00:00",
    ]
    runs = next_runs("0 0 * * 5-7", "UTC", datetime(2025, 11, 12, tzinfo=UTC), 4)
    assert [r.strftime("%a") for r in runs] == ["Fri", "Sat", "Sun", "Fri"]
    runs = next_runs("0 0 1 JAN,Jul *", "UTC", saturday, 2)
    assert iso(runs) == ["2026-01-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00"]


def test_day_of_month_or_day_of_week() -> None:
    # Both restricted: either matches (the 13th, or any Friday).
    runs = next_runs("0 0 13 * fri", "UTC", datetime(2025, 6, 1, tzinfo=UTC), 5)
    assert [r.day for r in runs] == [6, 13, 20, 27, 4]
    # A day-of-month field that allows every day is unrestricted, however it is spelled.
    runs = next_runs("0 0 1-31 * mon", "UTC", datetime(2025, 6, 1, tzinfo=UTC), 3)
    assert [r.day for r in runs] == [2, 9, 16]
    # Leap day only.
    assert next_runs("0 0 29 2 *", "UTC", datetime(2025, 1, 1, tzinfo=UTC), 2) == [
        datetime(2028, 2, 29, tzinfo=UTC),
        datetime(2032, 2, 29, tzinfo=UTC),
    ]


def test_berlin_spring_forward_daily_runs_once_at_the_jump() -> None:
    # 2025-03-30: 02:00 CET -> 03:00 CEST, so 02:30 does not exist that day.
    runs = next_runs("30 2 * * *", BERLIN, datetime(2025, 3, 29, 12, tzinfo=BERLIN), 3)
    assert iso(runs) == [
        "2025-03-30T03:00:00+02:00",
        "2025-03-31T02:30:00+02:00",
        "2025-04-01T02:30:00+02:00",
    ]
    # Several slots inside the gap collapse into one run at the jump.
    runs = next_runs("0,20,40 2 * * *", BERLIN, datetime(2025, 3, 30, 0, tzinfo=BERLIN), 2)
    assert iso(runs) == ["2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"]
    # ... and a slot at the jump itself is not doubled.
    runs = next_runs("30 2,3 * * *", BERLIN, datetime(2025, 3, 30, 0, tzinfo=BERLIN), 3)
    assert iso(runs) == [
        "2025-03-30T03:00:00+02:00",
        "2025-03-30T03:30:00+02:00",
        "2025-03-31T02:30:00+02:00",
    ]


def test_berlin_fall_back_daily_runs_once() -> None:
    # 2025-10-26: 03:00 CEST -> 02:00 CET, so 02:30 happens twice; run only the first time.
    runs = next_runs("30 2 * * *", BERLIN, datetime(2025, 10, 25, 12, tzinfo=BERLIN), 3)
    assert iso(runs) == [
        "2025-10-26T02:30:00+02:00",
        "2025-10-27T02:30:00+01:00",
        "2025-10-28T02:30:00+01:00",
    ]
    # Starting inside the second pass: the first pass's 02:30 is already in the past.
    second_pass = datetime(2025, 10, 26, 2, 10, tzinfo=BERLIN, fold=1)
    assert second_pass.utcoffset() == timedelta(hours=1)
    runs = next_runs("30 2 * * *", BERLIN, second_pass, 1)
    assert iso(runs) == ["2025-10-27T02:30:00+01:00"]
    # Not every hour: the repeated hour runs once.
    runs = next_runs("0 */2 * * *", BERLIN, datetime(2025, 10, 25, 23, tzinfo=BERLIN), 3)
    assert iso(runs) == [
        "2025-10-26T00:00:00+02:00",
        "2025-10-26T02:00:00+02:00",
        "2025-10-26T04:00:00+01:00",
    ]


def test_berlin_hourly_runs_every_real_hour_across_dst() -> None:
    spring = next_runs("0 * * * *", BERLIN, datetime(2025, 3, 30, 0, 30, tzinfo=BERLIN), 3)
    assert iso(spring) == [
        "2025-03-30T01:00:00+01:00",
        "2025-03-30T03:00:00+02:00",
        "2025-03-30T04:00:00+02:00",
    ]
    assert set(gaps_in_utc(spring)) == {timedelta(hours=1)}
    fall = next_runs("0 * * * *", BERLIN, datetime(2025, 10, 26, 0, 30, tzinfo=BERLIN), 4)
    assert iso(fall) == [
        "2025-10-26T01:00:00+02:00",
        "2025-10-26T02:00:00+02:00",
        "2025-10-26T02:00:00+01:00",
        "2025-10-26T03:00:00+01:00",
    ]
    assert set(gaps_in_utc(fall)) == {timedelta(hours=1)}
    # Starting in the first pass of the repeated hour still finds the second pass.
    first_pass = datetime(2025, 10, 26, 2, 10, tzinfo=BERLIN)
    assert iso(next_runs("0 * * * *", BERLIN, first_pass, 2)) == [
        "2025-10-26T02:00:00+01:00",
        "2025-10-26T03:00:00+01:00",
    ]


def test_new_york_dst() -> None:
    # 2025-03-09: 02:00 EST -> 03:00 EDT; 2025-11-02: 02:00 EDT -> 01:00 EST.
    spring = next_runs("30 2 * * *", NEW_YORK, datetime(2025, 3, 8, 12, tzinfo=NEW_YORK), 2)
    assert iso(spring) == ["2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"]
    fall = next_runs("30 1 * * *", NEW_YORK, datetime(2025, 11, 1, 12, tzinfo=NEW_YORK), 2)
    assert iso(fall) == ["2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"]
    half_hourly = next_runs(
        "*/30 * * * *", NEW_YORK, datetime(2025, 11, 2, 0, 15, tzinfo=NEW_YORK), 6
    )
    assert iso(half_hourly) == [
        "2025-11-02T00:30:00-04:00",
        "2025-11-02T01:00:00-04:00",
        "2025-11-02T01:30:00-04:00",
        "2025-11-02T01:00:00-05:00",
        "2025-11-02T01:30:00-05:00",
        "2025-11-02T02:00:00-05:00",
    ]
    assert set(gaps_in_utc(half_hourly)) == {timedelta(minutes=30)}
    daily_in_gap = next_runs("0 2 * * *", NEW_YORK, datetime(2025, 3, 9, tzinfo=NEW_YORK), 1)
    assert iso(daily_in_gap) == ["2025-03-09T03:00:00-04:00"]


# --------------------------------------------------------------------------- due slot


def test_due_slot_collapses_missed_runs_into_the_latest() -> None:
    last = datetime(2025, 11, 10, 2, 0, tzinfo=BERLIN)
    now = datetime(2025, 11, 16, 14, 0, tzinfo=BERLIN)  # six daily slots were missed
    assert due_slot("daily", BERLIN, last, now) == datetime(2025, 11, 16, 2, tzinfo=BERLIN)
    # Once that one fired, nothing is due until the next slot.
    fired = datetime(2025, 11, 16, 2, tzinfo=BERLIN)
    assert due_slot("daily", BERLIN, fired, now) is None
    assert due_slot("daily", BERLIN, fired, datetime(2025, 11, 17, 2, tzinfo=BERLIN)) == (
        datetime(2025, 11, 17, 2, tzinfo=BERLIN)
    )
    # The result is expressed in the schedule's zone, whatever zone `now` is in.
    slot = due_slot("daily", "Europe/Berlin", last, now.astimezone(UTC))
    assert slot is not None
    assert slot.tzinfo == BERLIN


def test_due_slot_edges() -> None:
    now = datetime(2025, 11, 16, 14, 0, 30, tzinfo=UTC)
    # A slot exactly at now is due.
    assert due_slot("0 14 * * *", "UTC", None, datetime(2025, 11, 16, 14, tzinfo=UTC)) == (
        datetime(2025, 11, 16, 14, tzinfo=UTC)
    )
    # last_fired at or after now: nothing (a clock that went backwards).
    assert due_slot("* * * * *", "UTC", now, now) is None
    assert due_slot("* * * * *", "UTC", now + timedelta(hours=1), now) is None
    # Never fired: the latest past slot, however far back.
    assert due_slot("0 0 29 2 *", "UTC", None, now) == datetime(2024, 2, 29, tzinfo=UTC)
    assert due_slot("0 0 1 1 *", "UTC", None, now) == datetime(2025, 1, 1, tzinfo=UTC)
    # Down for a year with a every-minute schedule: one run, the latest.
    long_ago = now - timedelta(days=365)
    assert due_slot("* * * * *", "UTC", long_ago, now) == datetime(2025, 11, 16, 14, tzinfo=UTC)


def test_due_slot_across_dst() -> None:
    before = datetime(2025, 3, 29, 2, 30, tzinfo=BERLIN)
    assert due_slot("30 2 * * *", BERLIN, before, datetime(2025, 3, 30, 2, 59, tzinfo=UTC)) == (
        datetime(2025, 3, 30, 3, 0, tzinfo=BERLIN)
    )
    # Fall-back: after the first 02:30, the second 02:30 is not due.
    first = datetime(2025, 10, 26, 2, 30, tzinfo=BERLIN)
    second = datetime(2025, 10, 26, 2, 45, tzinfo=BERLIN, fold=1)
    assert due_slot("30 2 * * *", BERLIN, first, second) is None


# --------------------------------------------------------------------------- properties

FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def cron_fields(draw: st.DrawFn) -> tuple[str, tuple[frozenset[int], ...]]:
    """A random expression and, computed independently, the values each field allows."""
    texts: list[str] = []
    sets: list[frozenset[int]] = []
    for index, (low, high) in enumerate(FIELD_RANGES):
        kind = draw(st.sampled_from(["star", "step", "list"]))
        if kind == "star":
            texts.append("*")
            sets.append(frozenset(range(low, high + 1)))
        elif kind == "step":
            step = draw(st.integers(2, 12 if index < 2 else 5))
            texts.append(f"*/{step}")
            sets.append(frozenset(range(low, high + 1, step)))
        else:
            values = draw(st.lists(st.integers(low, high), min_size=1, max_size=4, unique=True))
            texts.append(",".join(map(str, values)))
            sets.append(frozenset(values))
    return " ".join(texts), tuple(sets)


def wall_matches(fields: tuple[frozenset[int], ...], local: datetime) -> bool:
    minutes, hours, doms, months, dows = fields
    dow = local.isoweekday() % 7
    dom_restricted = doms != frozenset(range(1, 32))
    dow_restricted = dows != frozenset(range(7))
    if dom_restricted and dow_restricted:
        day_ok = local.day in doms or dow in dows
    else:
        day_ok = local.day in doms and dow in dows
    return (
        local.second == 0
        and local.minute in minutes
        and local.hour in hours
        and local.month in months
        and day_ok
    )


def is_offset_change(instant: datetime) -> bool:
    """Whether the zone's UTC offset changes exactly at ``instant``."""
    just_before = (instant.astimezone(UTC) - timedelta(seconds=1)).astimezone(instant.tzinfo)
    return just_before.utcoffset() != instant.utcoffset()


# Offset changes of the zones above (UTC instants), so that DST is actually exercised.
TRANSITIONS = [
    datetime(2025, 3, 30, 1, tzinfo=UTC),  # Europe/Berlin spring forward
    datetime(2025, 10, 26, 1, tzinfo=UTC),  # Europe/Berlin fall back
    datetime(2025, 3, 9, 7, tzinfo=UTC),  # America/New_York spring forward
    datetime(2025, 11, 2, 6, tzinfo=UTC),  # America/New_York fall back
    datetime(2025, 4, 5, 15, tzinfo=UTC),  # Australia/Lord_Howe: back 30 minutes
    datetime(2025, 10, 4, 15, 30, tzinfo=UTC),  # Australia/Lord_Howe: forward 30 minutes
]


def shifted(at: datetime, shift: timedelta) -> datetime:
    return at + shift


aware_instants: st.SearchStrategy[datetime] = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
) | st.builds(
    shifted,
    st.sampled_from(TRANSITIONS),
    st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=3)),
)
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def usable(expr: str) -> bool:
    try:
        validate_cron(expr)
    except ValidationError:
        return False
    return True


@PROPERTY_SETTINGS
@given(cron_fields(), st.sampled_from(ZONES), aware_instants, st.integers(1, 8))
def test_next_runs_increase_and_match(
    generated: tuple[str, tuple[frozenset[int], ...]], zone_name: str, after: datetime, count: int
) -> None:
    expr, fields = generated
    assume(usable(expr))
    zone = ZoneInfo(zone_name)
    runs = next_runs(expr, zone_name, after, count)
    assert len(runs) == count
    assert runs[0] > after
    instants = utc(runs)
    assert all(a < b for a, b in itertools.pairwise(instants))
    for run in runs:
        assert run.tzinfo == zone
        if not wall_matches(fields, run):
            # Only a slot moved out of a spring-forward gap may run at a non-matching wall time.
            assert fields[1] != frozenset(range(24))
            assert is_offset_change(run)
    if zone_name in ("UTC", "Asia/Kolkata") and runs[0] - after <= timedelta(days=2):
        # Without DST nothing matching is skipped before the first run.
        minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while minute < instants[0]:
            assert not wall_matches(fields, minute.astimezone(zone))
            minute += timedelta(minutes=1)


@PROPERTY_SETTINGS
@given(
    cron_fields(),
    st.sampled_from(ZONES),
    aware_instants,
    st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
)
def test_due_slot_is_the_latest_unfired_slot(
    generated: tuple[str, tuple[frozenset[int], ...]],
    zone_name: str,
    now: datetime,
    since: timedelta | None,
) -> None:
    expr, _ = generated
    assume(usable(expr))
    last_fired = None if since is None else now - since
    slot = due_slot(expr, zone_name, last_fired, now)
    if slot is None:
        if last_fired is not None:
            assert next_runs(expr, zone_name, last_fired, 1)[0] > now
        return
    assert slot <= now
    assert last_fired is None or slot > last_fired
    # It is a real slot, and the latest one at or before now.
    just_before = slot.astimezone(UTC) - timedelta(microseconds=1)
    assert utc(next_runs(expr, zone_name, just_before, 1)) == [slot.astimezone(UTC)]
    assert next_runs(expr, zone_name, slot, 1)[0] > now
