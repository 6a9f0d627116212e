"""DTOs of sign-in, users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from lifeboat.api.auth.permissions import RoleName
from lifeboat.api.domain.common import Input, Output

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
TokenName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class SetupStatusOut(Output):
    """Whether the first admin account still has to be created."""

    setup_required: bool


class Credentials(Input):
    """Sign-in (and first-run setup) body."""

    email: Email
    password: Password


class MeOut(Output):
    """The signed-in principal; `csrf_token` goes in X-CSRF-Token on state-changing requests."""

    id: str
    email: str
    role: RoleName
    permissions: list[str]
    auth_method: Literal["session", "token"]
    csrf_token: str | None = None
    token_name: str | None = None


class PasswordChange(Input):
    """Change one's own password."""

    current_password: Password
    new_password: Password


class UserOut(Output):
    """A user account (never its password hash)."""

    id: str
    email: str
    role: RoleName
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(Input):
    """A new user."""

    email: Email
    password: Password
    role: RoleName = "viewer"


class UserUpdate(Input):
    """Change a user's role, lock or password (fields left out are kept)."""

    role: RoleName | None = None
    disabled: bool | None = None
    password: Password | None = None


class TokenOut(Output):
    """An API token's metadata (the token itself is shown only once, at creation)."""

    id: str
    name: str
    prefix: str
    role: RoleName
    owner: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class TokenCreate(Input):
    """A new API token; its role defaults to (and may not exceed) the creator's."""

    name: TokenName
    role: RoleName | None = None
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class TokenCreatedOut(TokenOut):
    """A token just created: `token` is never shown again."""

    token: str


class AuditOut(Output):
    """One audit event."""

    id: str
    timestamp: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    details: dict[str, Any] | None
    ip: str | None
