"""The Prometheus exposition of a :class:`~lifeboat.api.domain.metrics.snapshot.Snapshot`.

Every family is a gauge: counts come from rows that retention may delete, so they can go down.
Databases are labelled by name and id (``database``, ``database_id``), so an alert can name the
database and survive a rename.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lifeboat.api.domain.metrics.snapshot import Snapshot

PREFIX = "lifeboat"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SnapshotCollector(Collector):
    """Yields the families of one snapshot (built per scrape)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def _db(self, db_id: str) -> list[str]:
        info = self.snap.databases.get(db_id)
        return [info.name if info else db_id, db_id]

    def collect(self) -> Iterator[Metric]:
        """Every Lifeboat family."""
        yield from self._backups()
        yield from self._executions()
        yield from self._queues()

    def _backups(self) -> Iterator[Metric]:
        labels = ["database", "database_id"]
        stamp = _gauge(
            "backup_last_success_timestamp_seconds",
            "Completion time (Unix seconds) of the newest completed backup of each database.",
            labels,
        )
        size = _gauge(
            "backup_last_size_bytes",
            "File size of the newest completed backup of each database.",
            labels,
        )
        duration = _gauge(
            "backup_last_duration_seconds",
            "Duration of the newest completed backup of each database.",
            labels,
        )
        for db_id, last in sorted(self.snap.last_success.items()):
            stamp.add_metric(self._db(db_id), last.completed_at.timestamp())
            if last.size_bytes is not None:
                size.add_metric(self._db(db_id), float(last.size_bytes))
            if last.duration_seconds is not None:
                duration.add_metric(self._db(db_id), float(last.duration_seconds))
        enabled = _gauge(
            "database_enabled",
            "1 for each enabled database, 0 for a disabled one.",
            [*labels, "engine", "queue"],
        )
        for db_id, info in sorted(self.snap.databases.items()):
            enabled.add_metric(
                [*self._db(db_id), info.engine, info.queue], 1.0 if info.enabled else 0.0
            )
        yield from (stamp, size, duration, enabled)

    def _executions(self) -> Iterator[Metric]:
        labels = ["database", "database_id", "status"]
        families = (
            (
                "backups",
                "Backups by database and status (deleted backups excluded).",
                self.snap.backups,
            ),
            (
                "backup_verifications",
                "Completed backups by database and verification status (unverified, running,"
                " verified, failed; deleted backups excluded).",
                self.snap.verifications,
            ),
            ("restores", "Restores by database and status.", self.snap.restores),
            (
                "s3_copies",
                "S3 copies of backups by database and copy status (pending, completed, failed, deleted).",
                self.snap.s3_copies,
            ),
        )
        for name, doc, counts in families:
            family = _gauge(name, doc, labels)
            for (db_id, status), count in sorted(counts.items()):
                family.add_metric([*self._db(db_id), status], float(count))
            yield family
        nxt = _gauge(
            "schedule_next_run_timestamp_seconds",
            "Next planned run (Unix seconds) of each enabled schedule.",
            ["schedule_id", "schedule_type", "database", "database_id"],
        )
        for schedule in sorted(self.snap.schedules, key=lambda s: s.id):
            if schedule.next_run_at is not None:
                nxt.add_metric(
                    [schedule.id, schedule.schedule_type, *self._db(schedule.database_id)],
                    schedule.next_run_at.timestamp(),
                )
        yield nxt

    def _queues(self) -> Iterator[Metric]:
        waiting = _gauge(
            "queue_waiting_jobs",
            "Jobs in a queue not yet taken by an executor (JetStream consumer pending).",
            ["queue"],
        )
        inflight = _gauge(
            "queue_inflight_jobs", "Jobs taken by an executor and not yet acknowledged.", ["queue"]
        )
        for queue, (pending, acking) in sorted(self.snap.queue_depth.items()):
            waiting.add_metric([queue], float(pending))
            inflight.add_metric([queue], float(acking))
        live = _gauge(
            "executors_live",
            "Live executors (heartbeat within three intervals) per queue.",
            ["queue"],
        )
        for queue, count in sorted(self.snap.live_executors.items()):
            live.add_metric([queue], float(count))
        schedulers = _gauge(
            "schedulers_live", "Live schedulers (heartbeat within three intervals).", []
        )
        schedulers.add_metric([], float(self.snap.live_schedulers))
        age = _gauge(
            "scheduler_heartbeat_age_seconds",
            "Seconds since the API last heard a scheduler heartbeat (absent: none since the API started).",
            [],
        )
        if self.snap.scheduler_heartbeat_age is not None:
            age.add_metric([], self.snap.scheduler_heartbeat_age)
        nats = _gauge("nats_connected", "1 while the API is connected to NATS.", [])
        nats.add_metric([], 1.0 if self.snap.nats_connected else 0.0)
        yield from (waiting, inflight, live, schedulers, age, nats)


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)


def exposition(snap: Snapshot) -> bytes:
    """The text exposition of `snap` plus the process, platform and GC metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snap))
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return generate_latest(registry)
