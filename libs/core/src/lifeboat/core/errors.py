"""The one error tree of Lifeboat.

Every error that crosses a boundary (HTTP response, NATS reply, job outcome) is one of these;
each branch has exactly one outcome::

    LifeboatError
    ├── ClientError                 4xx with the SPEC §6.2 envelope
    │   ├── ValidationError         400 VALIDATION_ERROR
    │   ├── UnauthorizedError       401 UNAUTHORIZED
    │   ├── ForbiddenError          403 FORBIDDEN
    │   ├── NotFoundError           404 NOT_FOUND
    │   ├── ConflictError           409 CONFLICT
    │   └── PayloadTooLargeError    413 PAYLOAD_TOO_LARGE
    ├── UnavailableError            503 SERVICE_UNAVAILABLE; in a running job: a failure like
    │                               any other (failed event, term: not retried; see below)
    ├── OperationError              a job that ran and failed: permanent (term + failed event)
    │   ├── DatabaseError           DATABASE_ERROR  (connect, tool missing, tool exit status)
    │   ├── BackupError             BACKUP_ERROR
    │   ├── RestoreError            RESTORE_ERROR
    │   ├── IntegrityError          RESTORE_ERROR   (checksum or size mismatch)
    │   ├── S3Error                 S3_ERROR
    │   └── JobCancelledError       CANCELLED       (a user cancelled it: record says cancelled)
    ├── FencedError                 this attempt lost its job's lease: it changes nothing more
    │                               and reports nothing (another attempt owns the record)
    └── ConfigurationError          refused at start-up with a clear message

What the executor does with an UnavailableError (``lifeboat.executor.worker``): raised while the
job runs (the database, S3 or NATS went away mid-dump) it becomes the job's failed result and
the message is terminated, like an OperationError: the job is not redelivered, a schedule's
retry or the user tries again. Only before anything ran, when the job's lease cannot be claimed,
is the message nak'd with a short delay; a result that cannot be recorded in the lease leaves
the message unacknowledged, so it is redelivered once its ack wait expires.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LifeboatError(Exception):
    """Root of every error Lifeboat raises on purpose."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ClientError(LifeboatError):
    """The request was wrong; the caller can fix it."""

    code = "BAD_REQUEST"
    status = 400


class ValidationError(ClientError):
    """Input failed validation; `details` lists the offending fields."""

    code = "VALIDATION_ERROR"
    status = 400


class UnauthorizedError(ClientError):
    """No or bad credentials."""

    code = "UNAUTHORIZED"
    status = 401


class ForbiddenError(ClientError):
    """Authenticated but not allowed."""

    code = "FORBIDDEN"
    status = 403


class NotFoundError(ClientError):
    """The resource does not exist (or was deleted)."""

    code = "NOT_FOUND"
    status = 404


class ConflictError(ClientError):
    """The request conflicts with the current state (duplicate name, job already running...)."""

    code = "CONFLICT"
    status = 409


class PayloadTooLargeError(ClientError):
    """The request body is over the configured limit."""

    code = "PAYLOAD_TOO_LARGE"
    status = 413


class UnavailableError(LifeboatError):
    """A dependency (NATS, an executor, disk) is not available right now; retrying may help.

    The API answers 503; in a running job the executor records it as the job's failure and
    terminates the message (no redelivery), see the module docstring.
    """

    code = "SERVICE_UNAVAILABLE"
    status = 503


class OperationError(LifeboatError):
    """A backup, restore or probe ran and failed; retrying the same job will not help."""

    code = "OPERATION_ERROR"
    status = 502


class DatabaseError(OperationError):
    """The target database refused us, or its client tool failed."""

    code = "DATABASE_ERROR"


class BackupError(OperationError):
    """A backup could not be produced or stored."""

    code = "BACKUP_ERROR"


class RestoreError(OperationError):
    """A restore could not be completed."""

    code = "RESTORE_ERROR"


class IntegrityError(RestoreError):
    """An artifact's size or checksum does not match its manifest."""


class S3Error(OperationError):
    """An S3 operation failed."""

    code = "S3_ERROR"


class JobCancelledError(OperationError):
    """A user cancelled the execution (SPEC §6.1.3): stopped, partial artifacts removed."""

    code = "CANCELLED"


class FencedError(LifeboatError):
    """The attempt no longer holds its execution's lease (a newer attempt took the job over,
    or the execution already ended): it must not change anything and reports nothing."""

    code = "FENCED"
    status = 409


class ConfigurationError(LifeboatError):
    """The service cannot start with the configuration it was given."""

    code = "CONFIGURATION_ERROR"
