"""The retention plan (SPEC §5.5): which backups of one database to keep and which to delete.

:func:`plan` is a pure function of the backups, the policy and ``now``; applying it (deleting
files, objects and records) is the caller's job.

Rules
    * Only ``completed`` backups take part. Failed, cancelled, running or pending ones are never
      kept nor deleted by the plan, and never change what happens to the completed ones: a
      failed run cannot cause a deletion.
    * The newest completed backup is always kept (reason ``"newest"``), whatever the policy.
    * Tiers (modes ``count`` and ``hybrid``), as restic/borg ``forget --keep-*``: going from
      the newest backup to the oldest, each tier keeps the newest backup of each of the last N
      distinct periods that contain a backup. Periods are taken on the wall clock of the
      policy's time zone: hour (``"hourly 2025-11-16 14:00"``; in a repeated fall-back hour the
      UTC offset is appended, ``"hourly 2025-10-26 02:00+01:00"``, so the two real hours stay
      apart), day (``"daily 2025-11-16"``), ISO week (``"weekly 2025-W46"``, Monday to Sunday,
      ISO week-numbering year), month (``"monthly 2025-11"``) and year (``"yearly 2025"``). A
      backup chosen by several tiers carries all their reasons. A tier with N = 0 keeps nothing.
    * Age (modes ``age`` and ``hybrid``): a backup that started more than ``max_age_days`` days
      before ``now`` is deleted.
    * Size (modes ``size`` and ``hybrid``): going from the newest backup to the oldest, backups
      are kept while the running total of their sizes stays within ``max_total_bytes``; the
      first one that does not fit and every older one are deleted (the newest is kept and
      counted even when it alone is over the limit).
    * ``hybrid`` is the intersection, the strictest combination: a backup is kept only if a tier
      keeps it AND it is within the age limit AND it fits the size budget. The size budget is
      spent only on backups that pass the tiers and the age limit (newest first), so backups
      that are deleted anyway do not use it up. Limits left as None are not applied. Kept
      backups carry their tier reasons (and ``"newest"``).
    * ``count`` ignores the age and size limits, ``age`` ignores tiers and size, ``size``
      ignores tiers and age.
    * The hard limit (``max_retention_days``, the API's ``MAX_BACKUP_RETENTION_DAYS``) is not
      part of a policy: it applies in every mode, on top of the policy. A backup that started
      more than that many days before ``now`` is deleted (reason ``"older than
      MAX_BACKUP_RETENTION_DAYS (365 d)"``) whatever the tiers say, so a yearly (or a long
      monthly) tier never keeps a backup past it. The newest completed backup is still kept.
      Backups it deletes do not use up the size budget.

The plan is deterministic (input order does not matter: backups are ordered by start time,
then id) and stable: planning again over the kept backups with the same ``now`` deletes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, get_args

import msgspec

from lifeboat.core.errors import ValidationError
from lifeboat.policy.cron import validate_timezone

RetentionMode = Literal["count", "age", "size", "hybrid"]
Tier = Literal["hourly", "daily", "weekly", "monthly", "yearly"]

COMPLETED: Final = "completed"
"""The only backup status that retention keeps or deletes."""

TIERS: Final[tuple[Tier, ...]] = ("hourly", "daily", "weekly", "monthly", "yearly")
NEWEST: Final = "newest"
NOT_IN_TIER: Final = "not kept by any tier"


def over_hard_limit(days: int) -> str:
    """The reason given to a backup deleted by the hard retention limit of `days` days."""
    return f"older than MAX_BACKUP_RETENTION_DAYS ({days} d)"


def runs_after(status: str, *, deleted: bool = False) -> bool:
    """Whether a backup that just finished with `status` triggers its policy's cleanup: only a
    completed one that is still there (a failed run never causes a deletion)."""
    return status == COMPLETED and not deleted


def effective_policy_id(schedule_policy_id: str | None, own_policy_id: str | None) -> str | None:
    """The policy a backup follows: its schedule's, else the one it was requested with."""
    return schedule_policy_id or own_policy_id


class BackupInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What retention needs to know about one backup. ``started_at`` must be timezone-aware."""

    id: str
    started_at: datetime
    status: str
    """``"completed"``, ``"failed"``, ``"cancelled"``, ``"running"``, ``"pending"``..."""
    size_bytes: int = 0
    backup_type: str = "manual"


class RetentionPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A retention policy (SPEC §4.1.3 defaults); validated on construction and decoding."""

    mode: RetentionMode = "count"
    keep_hourly: int = 24
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 12
    keep_yearly: int = 0
    max_age_days: int | None = None
    max_total_bytes: int | None = None
    timezone: str = "UTC"
    """IANA zone whose wall clock defines the hours, days, weeks... of the tiers."""

    def __post_init__(self) -> None:
        """Refuse policies that cannot be applied, with a ValidationError naming the field."""
        problems: list[dict[str, str]] = []
        if self.mode not in get_args(RetentionMode):
            problems.append(
                {"field": "mode", "message": f"must be one of {', '.join(get_args(RetentionMode))}"}
            )
        for tier in TIERS:
            if self.keep(tier) < 0:
                problems.append({"field": f"keep_{tier}", "message": "must not be negative"})
        if self.max_age_days is not None and self.max_age_days < 1:
            problems.append({"field": "max_age_days", "message": "must be at least 1"})
        if self.max_total_bytes is not None and self.max_total_bytes < 0:
            problems.append({"field": "max_total_bytes", "message": "must not be negative"})
        if self.mode == "age" and self.max_age_days is None:
            problems.append({"field": "max_age_days", "message": "is required in age mode"})
        if self.mode == "size" and self.max_total_bytes is None:
            problems.append({"field": "max_total_bytes", "message": "is required in size mode"})
        try:
            validate_timezone(self.timezone)
        except ValidationError as exc:
            problems.append({"field": "timezone", "message": exc.message})
        if problems:
            summary = "; ".join(f"{p['field']} {p['message']}" for p in problems)
            raise ValidationError(f"invalid retention policy: {summary}", details=problems)

    def keep(self, tier: Tier) -> int:
        """How many periods of ``tier`` this policy keeps."""
        counts = {
            "hourly": self.keep_hourly,
            "daily": self.keep_daily,
            "weekly": self.keep_weekly,
            "monthly": self.keep_monthly,
            "yearly": self.keep_yearly,
        }
        return counts[tier]


class Decision(msgspec.Struct, frozen=True):
    """One backup's fate and why."""

    id: str
    reasons: tuple[str, ...]


class Plan(msgspec.Struct, frozen=True):
    """The outcome of :func:`plan`: completed backups to keep and to delete, newest first."""

    keep: list[Decision]
    delete: list[Decision]

    @property
    def keep_ids(self) -> frozenset[str]:
        """Ids of the backups to keep."""
        return frozenset(d.id for d in self.keep)

    @property
    def delete_ids(self) -> frozenset[str]:
        """Ids of the backups to delete."""
        return frozenset(d.id for d in self.delete)


def _hour(local: datetime) -> str:
    label = local.strftime("%Y-%m-%d %H:00")
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        label += local.isoformat(timespec="minutes")[-6:]
    return label


def _week(local: datetime) -> str:
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


_PERIOD: Final[dict[Tier, Callable[[datetime], str]]] = {
    "hourly": _hour,
    "daily": lambda local: local.strftime("%Y-%m-%d"),
    "weekly": _week,
    "monthly": lambda local: local.strftime("%Y-%m"),
    "yearly": lambda local: f"{local.year:04d}",
}


def period_label(tier: Tier, when: datetime, timezone: str = "UTC") -> str:
    """The reason a tier gives for keeping a backup started at ``when`` (e.g. ``"weekly
    2025-W46"``): the tier's name and its period on the wall clock of ``timezone``."""
    return f"{tier} {_PERIOD[tier](when.astimezone(validate_timezone(timezone)))}"


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def plan(
    backups: Sequence[BackupInfo],
    policy: RetentionPolicy,
    now: datetime,
    *,
    max_retention_days: int | None = None,
) -> Plan:
    """Decide which completed backups of one database to keep and which to delete.

    See the module docstring for the rules; ``max_retention_days`` is the hard limit (None: no
    limit). Raises ValueError when ``now`` or a completed backup's ``started_at`` is naive,
    when two backups share an id, or when ``max_retention_days`` is below 1.
    """
    _require_aware("now", now)
    if max_retention_days is not None and max_retention_days < 1:
        raise ValueError(f"max_retention_days must be at least 1, got {max_retention_days}")
    ids: set[str] = set()
    for backup in backups:
        if backup.id in ids:
            raise ValueError(f"backup id {backup.id!r} appears twice")
        ids.add(backup.id)
    completed = [b for b in backups if b.status == COMPLETED]
    for backup in completed:
        _require_aware(f"started_at of backup {backup.id!r}", backup.started_at)
    # Sort and compare in UTC: within one zone Python compares wall clocks, ignoring DST.
    completed.sort(key=lambda b: (b.started_at.astimezone(UTC), b.id), reverse=True)
    if not completed:
        return Plan(keep=[], delete=[])

    zone = validate_timezone(policy.timezone)
    use_tiers = policy.mode in ("count", "hybrid")
    max_age = policy.max_age_days if policy.mode in ("age", "hybrid") else None
    max_bytes = policy.max_total_bytes if policy.mode in ("size", "hybrid") else None

    tier_reasons: dict[str, list[str]] = {b.id: [] for b in completed}
    if use_tiers:
        for tier in TIERS:
            limit = policy.keep(tier)
            seen: set[str] = set()
            for backup in completed:
                if len(seen) >= limit:
                    break
                period = _PERIOD[tier](backup.started_at.astimezone(zone))
                if period not in seen:
                    seen.add(period)
                    tier_reasons[backup.id].append(f"{tier} {period}")

    now = now.astimezone(UTC)
    cutoff = now - timedelta(days=max_age) if max_age is not None else None
    hard_cutoff: datetime | None = None
    hard_reason = ""
    if max_retention_days is not None:
        hard_cutoff = now - timedelta(days=max_retention_days)
        hard_reason = over_hard_limit(max_retention_days)
    keep: list[Decision] = []
    delete: list[Decision] = []
    total = 0
    budget_spent = False  # once one backup does not fit, no older one is kept for size
    for index, backup in enumerate(completed):
        newest = index == 0
        kept_for: list[str] = [NEWEST] if newest else []
        refused: list[str] = []
        if use_tiers:
            kept_for.extend(tier_reasons[backup.id])
            if not tier_reasons[backup.id]:
                refused.append(NOT_IN_TIER)
        if cutoff is not None and max_age is not None:
            if backup.started_at.astimezone(UTC) < cutoff:
                refused.append(f"older than {max_age} days")
            elif not use_tiers:
                kept_for.append(f"within {max_age} days")
        if hard_cutoff is not None and backup.started_at.astimezone(UTC) < hard_cutoff:
            refused.append(hard_reason)
        if max_bytes is not None and (newest or not refused):
            if not budget_spent and total + backup.size_bytes <= max_bytes:
                if not use_tiers:
                    kept_for.append(f"within {max_bytes} bytes")
            else:
                budget_spent = True
                refused.append(f"over the size limit of {max_bytes} bytes")
            total += backup.size_bytes
        if newest or not refused:
            keep.append(Decision(backup.id, tuple(kept_for)))
        else:
            delete.append(Decision(backup.id, tuple(refused)))
    return Plan(keep=keep, delete=delete)
