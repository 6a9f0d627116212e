"""Retention planning (lifeboat.policy.retention), property-based: invariants that hold for any
backups, policy and moment (the worked examples are in test_retention.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from random import Random

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifeboat.policy.retention import (
    BackupInfo,
    RetentionMode,
    RetentionPolicy,
    plan,
)

STATUSES = ["completed", "completed", "completed", "failed", "running", "pending", "cancelled"]
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


@st.composite
def backup_lists(draw: st.DrawFn) -> list[BackupInfo]:
    # Offsets in minutes over ~3 years, clustered sometimes so that periods repeat.
    span = draw(st.sampled_from([60 * 24 * 3, 60 * 24 * 60, 60 * 24 * 365 * 3]))
    offsets = draw(st.lists(st.integers(0, span), max_size=40))
    return [
        BackupInfo(
            id=f"b{index}",
            started_at=EPOCH + timedelta(minutes=offset),
            status=draw(st.sampled_from(STATUSES)),
            size_bytes=draw(st.integers(0, 1000)),
        )
        for index, offset in enumerate(offsets)
    ]


@st.composite
def policies(draw: st.DrawFn) -> RetentionPolicy:
    modes: list[RetentionMode] = ["count", "age", "size", "hybrid"]
    mode = draw(st.sampled_from(modes))
    max_age = draw(st.none() | st.integers(1, 800))
    max_bytes = draw(st.none() | st.integers(0, 15_000))
    if mode == "age" and max_age is None:
        max_age = 30
    if mode == "size" and max_bytes is None:
        max_bytes = 5_000
    return RetentionPolicy(
        mode=mode,
        keep_hourly=draw(st.integers(0, 30)),
        keep_daily=draw(st.integers(0, 10)),
        keep_weekly=draw(st.integers(0, 6)),
        keep_monthly=draw(st.integers(0, 13)),
        keep_yearly=draw(st.integers(0, 3)),
        max_age_days=max_age,
        max_total_bytes=max_bytes,
        timezone=draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
    )


hard_limits = st.none() | st.integers(1, 800)
nows = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def completed_ids(backups: Sequence[BackupInfo]) -> set[str]:
    return {b.id for b in backups if b.status == "completed"}


def newest_completed(backups: Sequence[BackupInfo]) -> BackupInfo | None:
    done = [b for b in backups if b.status == "completed"]
    return max(done, key=lambda b: (b.started_at, b.id), default=None)


@PROPERTY_SETTINGS
@given(backup_lists(), policies(), nows, hard_limits)
def test_plan_invariants(
    backups: list[BackupInfo], policy: RetentionPolicy, now: datetime, limit: int | None
) -> None:
    result = plan(backups, policy, now, max_retention_days=limit)
    keep, delete = result.keep_ids, result.delete_ids
    # keep and delete partition the completed backups.
    assert keep | delete == completed_ids(backups)
    assert not keep & delete
    assert len(keep) == len(result.keep)
    assert len(delete) == len(result.delete)
    # Every decision says why.
    assert all(d.reasons for d in result.keep)
    assert all(d.reasons for d in result.delete)
    # The newest completed backup is always kept.
    newest = newest_completed(backups)
    if newest is not None:
        assert result.keep[0].id == newest.id
        assert "newest" in result.keep[0].reasons
    # Mode-specific guarantees.
    by_id = {b.id: b for b in backups}
    others = [by_id[d.id] for d in result.keep[1:]]
    if policy.mode in ("age", "hybrid") and policy.max_age_days is not None:
        cutoff = now - timedelta(days=policy.max_age_days)
        assert all(b.started_at >= cutoff for b in others)
    if policy.mode in ("size", "hybrid") and policy.max_total_bytes is not None and others:
        assert sum(by_id[i].size_bytes for i in keep) <= policy.max_total_bytes
    if limit is not None:
        assert all(b.started_at >= now - timedelta(days=limit) for b in others)
        # The hard limit only ever takes away from what the policy alone keeps.
        assert keep <= plan(backups, policy, now).keep_ids
    if policy.mode == "hybrid":
        count_only = plan(
            backups, msgspec.structs.replace(policy, mode="count"), now, max_retention_days=limit
        )
        assert keep <= count_only.keep_ids


@PROPERTY_SETTINGS
@given(backup_lists(), policies(), nows, hard_limits, st.randoms(use_true_random=False))
def test_plan_is_deterministic_and_stable(
    backups: list[BackupInfo],
    policy: RetentionPolicy,
    now: datetime,
    limit: int | None,
    random: Random,
) -> None:
    result = plan(backups, policy, now, max_retention_days=limit)
    shuffled = list(backups)
    random.shuffle(shuffled)
    assert plan(shuffled, policy, now, max_retention_days=limit) == result
    # Planning again over what was kept deletes nothing and keeps the same, for the same reasons.
    by_id = {b.id: b for b in backups}
    again = plan([by_id[d.id] for d in result.keep], policy, now, max_retention_days=limit)
    assert again.delete == []
    assert again.keep == result.keep


@PROPERTY_SETTINGS
@given(
    backup_lists(),
    policies(),
    nows,
    st.lists(
        st.tuples(
            st.sampled_from(["failed", "running", "pending", "cancelled"]),
            st.integers(0, 60 * 24 * 365 * 4),
            st.integers(0, 10**12),
        ),
        min_size=1,
        max_size=5,
    ),
    hard_limits,
)
def test_unfinished_runs_never_cause_deletions(
    backups: list[BackupInfo],
    policy: RetentionPolicy,
    now: datetime,
    extra: list[tuple[str, int, int]],
    limit: int | None,
) -> None:
    unfinished = [
        BackupInfo(
            id=f"x{index}",
            started_at=EPOCH + timedelta(minutes=minutes),
            status=status,
            size_bytes=size,
        )
        for index, (status, minutes, size) in enumerate(extra)
    ]
    result = plan(backups, policy, now, max_retention_days=limit)
    with_unfinished = plan([*backups, *unfinished], policy, now, max_retention_days=limit)
    assert with_unfinished == result
    assert not {b.id for b in unfinished} & (with_unfinished.keep_ids | with_unfinished.delete_ids)
