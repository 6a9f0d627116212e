"""Cron expressions and time zones: the one module of Lifeboat that talks to croniter.

Everything here is pure: no clock (``now``/``after`` are always passed in), no environment,
no I/O beyond the time-zone database that :class:`zoneinfo.ZoneInfo` loads.

Syntax
    Five fields, ``minute hour day-of-month month day-of-week``. Each field is a comma list of
    ``*``, ``N``, ``N-M``, ``*/S``, ``N-M/S`` or ``N/S`` (``N`` to the field's maximum, step
    ``S``). Months accept ``jan``..``dec``, days of week ``sun``..``sat`` (case-insensitive);
    day of week ``0`` and ``7`` are both Sunday. The names of :data:`PREDEFINED` (``daily``...)
    and the usual ``@hourly``/``@daily``/``@midnight``/``@weekly``/``@monthly``/``@yearly``/
    ``@annually`` macros are accepted too (the macros keep their standard midnight meaning).
    Quartz/croniter extensions (``L``, ``W``, ``#``, ``?``, seconds or year fields) are refused.

Day matching
    A day field that allows every value is unrestricted, however it is spelled (``*``,
    ``1-31``, ``*/1``...). When both day of month and day of week are restricted, a day
    matches if *either* matches (classic cron); otherwise the restricted one decides.

Daylight saving time
    Expressions are matched against the wall clock of the schedule's time zone.

    * A schedule whose hour field allows every hour (``0 * * * *``, ``*/15 * * * *``...) runs
      by the wall clock in real time: wall times that do not exist on a spring-forward day are
      simply absent (the job still runs once per real hour), and wall times that happen twice
      on a fall-back day run in both passes (they are distinct real instants, one hour apart).
    * Any other schedule (``30 2 * * *``, ``0 */6 * * *``...) runs **at most once per wall-clock
      slot**: a slot that falls in the spring-forward gap runs at the instant the clocks jump
      (``30 2 * * *`` in Europe/Berlin on 2025-03-30 runs at 03:00 CEST; several slots inside
      the gap collapse into that one run), and a slot that happens twice on a fall-back day
      runs only the first time (02:30 CEST on 2025-10-26, not again at 02:30 CET).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

from lifeboat.core.errors import ValidationError

PREDEFINED: Final[dict[str, str]] = {
    "hourly": "0 * * * *",
    "daily": "0 2 * * *",
    "weekly": "0 3 * * 0",
    "monthly": "0 4 1 * *",
}
"""The predefined schedules of SPEC §5.4.2, by schedule type."""

MAX_RUNS: Final = 1000
"""The most fire times :func:`next_runs` computes in one call."""

_MACROS: Final[Mapping[str, str]] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

_MONTH_NAMES: Final[Mapping[str, int]] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DOW_NAMES: Final[Mapping[str, int]] = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}
_EMPTY_NAMES: Final[Mapping[str, int]] = {}

# Longest a month can be (February counts its leap day), indexed by month number.
_MAX_MONTH_DAYS: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_MAX_LENGTH: Final = 200

# Wider than any UTC-offset change (DST or otherwise) that tz data knows of.
_MAX_OFFSET_SHIFT: Final = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class _FieldDef:
    name: str
    low: int
    high: int
    names: Mapping[str, int]


_FIELDS: Final = (
    _FieldDef("minute", 0, 59, _EMPTY_NAMES),
    _FieldDef("hour", 0, 23, _EMPTY_NAMES),
    _FieldDef("day of month", 1, 31, _EMPTY_NAMES),
    _FieldDef("month", 1, 12, _MONTH_NAMES),
    _FieldDef("day of week", 0, 7, _DOW_NAMES),
)
_FULL: Final = (
    frozenset(range(60)),
    frozenset(range(24)),
    frozenset(range(1, 32)),
    frozenset(range(1, 13)),
    frozenset(range(7)),
)


@dataclass(frozen=True, slots=True)
class _Spec:
    """A parsed expression: the normalized text, the allowed values of each field, and the
    canonical text croniter iterates (full fields as ``*``, others as explicit lists, so that
    croniter's day-of-month/day-of-week rule is exactly ours)."""

    expression: str
    fields: tuple[frozenset[int], ...]
    canonical: str

    @property
    def every_hour(self) -> bool:
        return self.fields[1] == _FULL[1]


def _bad(expr: str, problem: str) -> ValidationError:
    return ValidationError(
        f"invalid cron expression {expr!r}: {problem}",
        details=[{"field": "cron_expression", "message": problem}],
    )


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _value(expr: str, field: _FieldDef, token: str) -> int:
    if _is_number(token):
        number = int(token)
    elif token.lower() in field.names:
        number = field.names[token.lower()]
    elif field.names:
        raise _bad(
            expr,
            f"{field.name} value {token!r} is neither a number nor a name "
            f"({', '.join(field.names)})",
        )
    else:
        raise _bad(
            expr,
            f"{field.name} value {token!r} is not a number (L, W, ? and # are not supported)",
        )
    if not field.low <= number <= field.high:
        raise _bad(
            expr,
            f"{field.name} value {number} is out of range {field.low}-{field.high}",
        )
    return number


def _parse_field(expr: str, field: _FieldDef, text: str) -> frozenset[int]:
    values: set[int] = set()
    # For day of week, '*' and 'N/S' end at Saturday (7 is only an alias of Sunday).
    top = 6 if field.name == "day of week" else field.high
    for item in text.split(","):
        if not item:
            raise _bad(expr, f"{field.name} field {text!r} has an empty list item")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _is_number(step_text) or int(step_text) < 1:
                raise _bad(
                    expr, f"{field.name} step {step_text!r} in {item!r} is not a positive number"
                )
            step = int(step_text)
        if base == "*":
            start, end = field.low, top
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(expr, field, first), _value(expr, field, last)
            if start > end:
                raise _bad(
                    expr, f"{field.name} range {base!r} is reversed (write the smaller end first)"
                )
        else:
            start = _value(expr, field, base)
            end = top if slash else start
        values.update(range(start, end + 1, step))
    if field.name == "day of week" and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values)


def _render(values: frozenset[int], full: frozenset[int]) -> str:
    return "*" if values == full else ",".join(str(v) for v in sorted(values))


@functools.lru_cache(maxsize=512)
def _parse(expr: str) -> _Spec:
    if len(expr) > _MAX_LENGTH:
        raise _bad(expr[:_MAX_LENGTH] + "...", f"it is longer than {_MAX_LENGTH} characters")
    text = " ".join(expr.split())
    if not text:
        raise _bad(expr, "it is empty")
    lowered = text.lower()
    if lowered in PREDEFINED:
        text = PREDEFINED[lowered]
    elif lowered.startswith("@"):
        if lowered not in _MACROS:
            raise _bad(expr, f"unknown macro {text!r}; known are {', '.join(sorted(_MACROS))}")
        text = _MACROS[lowered]
    parts = text.split(" ")
    if len(parts) != len(_FIELDS):
        raise _bad(
            expr,
            f"it has {len(parts)} field{'s' if len(parts) != 1 else ''}; expected 5 "
            "(minute hour day-of-month month day-of-week)",
        )
    for part, field in zip(parts, _FIELDS, strict=True):
        stray = sorted({c for c in part if not (c.isascii() and (c.isalnum() or c in ",-*/"))})
        if stray:
            raise _bad(
                expr, f"{field.name} field {part!r} uses unsupported syntax {''.join(stray)!r}"
            )
    fields = tuple(
        _parse_field(expr, field, part) for part, field in zip(parts, _FIELDS, strict=True)
    )
    _, _, doms, months, dows = fields
    # When only the day of month decides, it must fit in at least one of the allowed months.
    if (
        doms != _FULL[2]
        and dows == _FULL[4]
        and not any(d <= _MAX_MONTH_DAYS[m] for m in months for d in doms)
    ):
        raise _bad(expr, "it never fires: no allowed month has any of the allowed days")
    canonical = " ".join(_render(v, full) for v, full in zip(fields, _FULL, strict=True))
    try:
        croniter.expand(canonical)
    except CroniterError as exc:  # pragma: no cover - our parser is stricter than croniter
        raise _bad(expr, str(exc)) from exc
    return _Spec(expression=text, fields=fields, canonical=canonical)


def validate_cron(expr: str) -> str:
    """Check a cron expression and return it normalized (single spaces; a predefined name or
    ``@`` macro replaced by its five fields).

    Raises :class:`~lifeboat.core.errors.ValidationError` saying what is wrong: the field
    count, which field holds an out-of-range value, unsupported syntax, or a date that never
    exists (``0 0 30 2 *``).
    """
    return _parse(expr).expression


@functools.cache
def _known_zones() -> frozenset[str]:
    # `localtime` is the machine's own zone (some tzdata packages list it): never a valid choice.
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


def validate_timezone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name`` (``Europe/Berlin``, ``UTC``...).

    Raises :class:`~lifeboat.core.errors.ValidationError` for names the time-zone database does
    not know (including machine-local aliases such as ``localtime``).
    """
    if name not in _known_zones():
        raise ValidationError(
            f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Berlin' or 'UTC'",
            details=[{"field": "timezone", "message": "unknown time zone"}],
        )
    return ZoneInfo(name)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return validate_timezone(tz) if isinstance(tz, str) else tz


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def _transition(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in (before, after] whose UTC offset is the one at ``after``."""
    target = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _instants(spec: _Spec, zone: ZoneInfo, wall: datetime) -> list[tuple[datetime, bool]]:
    """The UTC instants at which wall-clock time ``wall`` (naive) fires, each flagged True when
    it is the second pass of a repeated wall time. See the module docstring for the rules."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return [(first, False)]
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        # Fall-back: the wall time happens twice, at `first` and then at `second`.
        return [(first, False), (second, True)] if spec.every_hour else [(first, False)]
    # Spring-forward: the wall time does not exist; `second` < jump <= `first`.
    return [] if spec.every_hour else [(_transition(second, first, zone), False)]


def _iter_slots(spec: _Spec, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after ``after``, increasing, as aware datetimes in ``zone``."""
    local = after.astimezone(zone)
    wall = local.replace(tzinfo=None, fold=0)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        # `after` is inside a repeated hour: earlier wall times may still fire after it.
        wall -= _MAX_OFFSET_SHIFT
    # croniter walks the naive wall clock, carried in UTC so that it sees no DST at all.
    walker = croniter(spec.canonical, wall.replace(tzinfo=UTC))
    last = after.astimezone(UTC)
    pending: list[datetime] = []  # second passes of a repeated hour, not yet due for output
    while True:
        nxt: datetime = walker.get_next(datetime)
        for instant, second_pass in _instants(spec, zone, nxt.replace(tzinfo=None)):
            if second_pass:
                pending.append(instant)
                continue
            while pending and pending[0] < instant:
                waiting = pending.pop(0)
                if waiting > last:
                    last = waiting
                    yield waiting.astimezone(zone)
            if instant > last:
                last = instant
                yield instant.astimezone(zone)


def next_runs(expr: str, tz: str | ZoneInfo, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times of ``expr`` strictly after ``after``, in increasing order,
    as aware datetimes in the schedule's zone ``tz`` (DST rules in the module docstring).

    ``after`` must be timezone-aware (any zone). ``count`` is 0..:data:`MAX_RUNS`.
    Raises :class:`~lifeboat.core.errors.ValidationError` for a bad expression, zone or count.
    """
    spec = _parse(expr)
    zone = _zone(tz)
    _require_aware("after", after)
    if not 0 <= count <= MAX_RUNS:
        raise ValidationError(
            f"count must be between 0 and {MAX_RUNS}, got {count}",
            details=[{"field": "count", "message": f"must be between 0 and {MAX_RUNS}"}],
        )
    runs: list[datetime] = []
    if count == 0:
        return runs
    for slot in _iter_slots(spec, zone, after):
        runs.append(slot)
        if len(runs) == count:
            break
    return runs


def _latest_by_wall(spec: _Spec, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The latest slot at or before ``now`` (UTC), found by walking the wall clock backwards.

    Only valid where the zone's offset did not change shortly before ``now``: then no later
    wall time fires before ``now``, and the latest wall slot that fires at all is the answer.
    """
    wall = now.astimezone(zone).replace(tzinfo=None, fold=0)
    # One second past the minute, so that a slot exactly at `now`'s minute counts.
    start = wall.replace(second=0, microsecond=0) + timedelta(seconds=1)
    walker = croniter(spec.canonical, start.replace(tzinfo=UTC))
    while True:
        try:
            previous: datetime = walker.get_prev(datetime)
        except CroniterError:  # nothing in croniter's search horizon
            return None
        instants = [i for i, _ in _instants(spec, zone, previous.replace(tzinfo=None)) if i <= now]
        if instants:
            return max(instants).astimezone(zone)


def _latest_slot(spec: _Spec, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The latest slot at or before ``now`` (UTC), in ``zone``."""
    while True:
        recent = now - _MAX_OFFSET_SHIFT
        if recent.astimezone(zone).utcoffset() == now.astimezone(zone).utcoffset():
            return _latest_by_wall(spec, zone, now)
        # The offset changed just before `now`: scan the last few hours forwards, in real time.
        start = now - 2 * _MAX_OFFSET_SHIFT
        latest: datetime | None = None
        for slot in _iter_slots(spec, zone, start):
            if slot.astimezone(UTC) > now:
                break
            latest = slot
        if latest is not None:
            return latest
        now = start


def due_slot(
    expr: str, tz: str | ZoneInfo, last_fired: datetime | None, now: datetime
) -> datetime | None:
    """The fire time to run now, or None: the latest slot ``s`` with ``last_fired < s <= now``.

    However many slots were missed (scheduler down, clock jumped), at most this one — the most
    recent — is returned, so a missed run fires once, not once per missed slot. With
    ``last_fired=None`` any past slot counts: pass the time the schedule was created or enabled
    instead when a slot from before that must not fire. Returns None when ``last_fired >= now``.
    Both datetimes must be timezone-aware (any zone); the result is in the schedule's zone.
    """
    spec = _parse(expr)
    zone = _zone(tz)
    _require_aware("now", now)
    # Compare and subtract in UTC only: within one zone Python compares wall clocks.
    now = now.astimezone(UTC)
    floor: datetime | None = None
    if last_fired is not None:
        _require_aware("last_fired", last_fired)
        floor = last_fired.astimezone(UTC)
        if floor >= now:
            return None
    slot = _latest_slot(spec, zone, now)
    if slot is None or (floor is not None and slot.astimezone(UTC) <= floor):
        return None
    return slot
