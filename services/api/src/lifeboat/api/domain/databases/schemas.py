"""DTOs of /api/databases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from lifeboat.api.domain.common import EngineName, Input, Output

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
# Host names, IPv4/IPv6 literals; never starting with "-" so it cannot read as a tool option.
Host = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:%\[\]][A-Za-z0-9_.:%\[\]-]*$"
    ),
]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
# Database and user names: any printable text, no control characters.
Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
Password = Annotated[str, msgspec.Meta(max_length=1024)]
Queue = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Container = Annotated[str, msgspec.Meta(max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
# The dead man's switch override: how old the last good backup may get (up to a year).
MaxAgeHours = Annotated[int, msgspec.Meta(ge=1, le=24 * 366)]


class DatabaseCreate(Input):
    """Body of POST /api/databases; the connection is probed through an executor unless
    ``skipConnectionTest`` is true. An empty password means the server needs none."""

    name: Name
    type: EngineName
    host: Host
    port: Port
    database_name: Ident
    username: Ident
    password: Password
    docker_container_name: Container | None = None
    enabled: bool = True
    queue: Queue = "default"
    max_backup_age_hours: MaxAgeHours | None = None
    skip_connection_test: bool = False


class DatabaseUpdate(Input):
    """Body of PUT /api/databases/:id: every field optional; omitted fields stay as they are.

    Changing connection fields probes the new connection unless ``skipConnectionTest`` is true.
    """

    name: Name | msgspec.UnsetType = msgspec.UNSET
    type: EngineName | msgspec.UnsetType = msgspec.UNSET
    host: Host | msgspec.UnsetType = msgspec.UNSET
    port: Port | msgspec.UnsetType = msgspec.UNSET
    database_name: Ident | msgspec.UnsetType = msgspec.UNSET
    username: Ident | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    docker_container_name: Container | msgspec.UnsetType | None = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    queue: Queue | msgspec.UnsetType = msgspec.UNSET
    max_backup_age_hours: MaxAgeHours | msgspec.UnsetType | None = msgspec.UNSET
    skip_connection_test: bool = False


class DatabaseOut(Output):
    """A database configuration; the password is never returned, only whether one is set."""

    id: str
    name: str
    type: EngineName
    host: str
    port: int
    database_name: str
    username: str
    docker_container_name: str | None
    enabled: bool
    queue: str
    has_password: bool
    created_at: datetime
    updated_at: datetime
    verification_database_id: str | None = None
    """The configuration whose server verification restores of this database's backups go to
    (None: this database's own server); set with PUT /api/databases/{id}/verification-target."""
    overdue: bool = False
    """Scheduled, and its last good backup is older than expected (the dead man's switch)."""
    last_good_backup_at: datetime | None = None
    expected_backup_age_hours: float | None = None
    """How old the last good backup may get: ``maxBackupAgeHours`` if set, else 1.5 times the
    interval of its most frequent schedule (None: not watched)."""
    max_backup_age_hours: int | None = None


class ConnectionTestOut(Output):
    """Outcome of POST /api/databases/:id/test-connection."""

    connected: bool
    server_version: str | None
    database_size_bytes: int | None
    latency_ms: int
    error: str | None
    executor_id: str | None = None


class DiscoveredDatabase(Output):
    """A database found by auto-discovery."""

    name: str
    type: EngineName
    host: str
    port: int


class DiscoverOut(Output):
    """Outcome of POST /api/databases/discover."""

    configured: bool
    databases: list[DiscoveredDatabase]
    message: str
