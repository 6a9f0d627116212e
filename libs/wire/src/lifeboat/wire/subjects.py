"""Every NATS subject, stream, consumer and KV bucket name Lifeboat uses, spelled once.

External clients use :data:`TRIGGER_BACKUP` (request/reply, see README "External triggers").
"""

from __future__ import annotations

import re

from lifeboat.core.errors import ValidationError

PREFIX = "lifeboat"

# Jobs: a work-queue stream; each executor queue has its own subject and durable consumer.
JOBS_STREAM = "LIFEBOAT_JOBS"
JOBS_SUBJECTS = f"{PREFIX}.jobs.>"
# What the server announces when a job was delivered MaxDeliver times and never finished.
JOBS_MAX_DELIVERIES = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{JOBS_STREAM}.>"

# Events from executors to the API: progress, log lines, results.
EVENTS_STREAM = "LIFEBOAT_EVENTS"
EVENTS_SUBJECTS = f"{PREFIX}.events.>"
EVENTS_CONSUMER = "api-events"

# Core request/reply subjects.
TRIGGER_BACKUP = f"{PREFIX}.trigger.backup"
API_QUEUE_GROUP = "lifeboat-api"

# Schedules published by the API for the scheduler, and what the scheduler fires.
SCHEDULES_KV = "LIFEBOAT_SCHEDULES"
FIRED_STREAM = "LIFEBOAT_FIRED"
FIRED_SUBJECTS = f"{PREFIX}.schedule.fired.>"
FIRED_CONSUMER = "api-fired"
SCHEDULER_HEARTBEAT = f"{PREFIX}.scheduler.heartbeat"

EXECUTOR_HEARTBEAT = f"{PREFIX}.executor.heartbeat"

# WARNING-or-worse log lines the scheduler and executors ship to the API (core NATS, lossy).
LOGS_SUBJECTS = f"{PREFIX}.logs.>"

# Fencing (see lifeboat.wire.lease): one lease per execution, updated by compare-and-set, and
# the cancellations the API asks for. Executors write leases and only read cancellations.
LEASES_KV = "LIFEBOAT_LEASES"
CANCELS_KV = "LIFEBOAT_CANCELS"

DEFAULT_QUEUE = "default"
_QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def check_queue(queue: str) -> str:
    """A queue name is a single subject token: lowercase letters, digits, ``-`` and ``_``."""
    if not _QUEUE_NAME.match(queue):
        raise ValidationError(
            "queue must be 1-32 lowercase letters, digits, '-' or '_'", details={"queue": queue}
        )
    return queue


def job_subject(queue: str) -> str:
    """Subject on which jobs for executors serving `queue` are published."""
    return f"{PREFIX}.jobs.{check_queue(queue)}"


def executor_consumer(queue: str) -> str:
    """Durable pull consumer shared by every executor serving `queue`."""
    return f"executors-{check_queue(queue)}"


def probe_subject(queue: str) -> str:
    """Request/reply subject on which executors of `queue` answer connection probes."""
    return f"{PREFIX}.probe.{check_queue(queue)}"


def event_subject(kind: str, execution_id: str) -> str:
    """Subject of an event about one execution (`kind` is ``backup`` or ``restore``)."""
    return f"{PREFIX}.events.{kind}.{execution_id}"


def fired_subject(schedule_id: str) -> str:
    """Subject of a "schedule fired" message."""
    return f"{PREFIX}.schedule.fired.{schedule_id}"


def log_subject(service: str) -> str:
    """Subject on which a service (``scheduler``, ``executor``) ships its log lines."""
    return f"{PREFIX}.logs.{service}"


def probe_queue_group(queue: str) -> str:
    """Queue group of the executors answering probes for `queue` (one answer per probe)."""
    return f"executors-{check_queue(queue)}"


# Reply inboxes: each service's under its own prefix (not under the default ``_INBOX``), so a
# NATS server can let a user subscribe to its own replies only, and an outside client allowed
# ``_INBOX.>`` for its requests sees none of the services' replies.
INBOX_ROOT = "_LIFEBOAT_INBOX"


def inbox_prefix(role: str, queue: str | None = None) -> str:
    """Inbox prefix of a service's connections (`role`: ``api``, ``scheduler``, ``executor``).

    Executors get one per queue: pulled jobs arrive in the puller's inbox, so executors of one
    queue must not be able to subscribe to the inboxes of another's.
    """
    if queue is None:
        return f"{INBOX_ROOT}.{role}"
    return f"{INBOX_ROOT}.{role}.{check_queue(queue)}"
