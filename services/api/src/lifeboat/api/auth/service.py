"""Principals, sessions, API tokens and user accounts.

* Sessions: the cookie carries 32 random bytes; the row stores their SHA-256 and the session's
  CSRF token. A sign-in always creates a new session (and drops the one the browser presented),
  so a session id planted before sign-in is worthless afterwards.
* API tokens: ``lb_<random>``, stored as SHA-256, role capped by the creator's current role.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeboat.api.auth.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password,
    verify_password,
)
from lifeboat.api.auth.permissions import ROLE_PERMISSIONS, RoleName, lesser_role, role_rank
from lifeboat.api.auth.schemas import TokenCreate, TokenCreatedOut, TokenOut, UserOut
from lifeboat.api.context import ApiContext
from lifeboat.api.db.auth_models import ApiToken, User, UserSession
from lifeboat.api.db.models import utcnow
from lifeboat.core.errors import (
    ClientError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
)

SESSION_COOKIE = "lifeboat_session"
CSRF_COOKIE = "lifeboat_csrf"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_PREFIX = "lb_"  # noqa: S105 - a prefix, not a secret
TOUCH_EVERY = timedelta(seconds=60)
SESSION_MAX_AGE = timedelta(days=7)


class SetupRequiredError(UnauthorizedError):
    """No account exists yet: the UI must show first-run setup."""

    code = "SETUP_REQUIRED"


class CsrfError(ForbiddenError):
    """A cookie-authenticated state-changing request without the right X-CSRF-Token."""

    code = "CSRF_FAILED"


class TooManyRequestsError(ClientError):
    """Too many failed sign-ins: try again after ``Retry-After`` seconds."""

    code = "TOO_MANY_REQUESTS"
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(message, details={"retryAfterSeconds": seconds})
        self.headers = {"Retry-After": str(seconds)}


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (session id or API token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively."""
    return email.strip().lower()


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a signed-in user (session) or an API token."""

    kind: Literal["session", "token"]
    user_id: str
    email: str
    role: RoleName
    session_id: str | None = None
    csrf_token: str | None = None
    token_id: str | None = None
    token_name: str | None = None

    @property
    def permissions(self) -> frozenset[str]:
        """What this principal's role allows."""
        return ROLE_PERMISSIONS[self.role]

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        if self.kind == "token":
            return f"token:{self.token_name} ({self.email})"
        return f"user:{self.email}"


# --- setup and users ----------------------------------------------------------------------------


async def has_users(ctx: ApiContext) -> bool:
    """Whether the first account exists (cached once true: the last admin cannot be removed)."""
    if ctx.auth.has_users:
        return True
    async with ctx.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(User))
    ctx.auth.has_users = bool(count)
    return ctx.auth.has_users


def user_out(user: User) -> UserOut:
    """A user row as its DTO."""
    return UserOut(
        id=user.id,
        email=user.email,
        role=cast(RoleName, user.role),
        disabled=user.disabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


async def create_first_admin(ctx: ApiContext, email: str, password: str) -> User | None:
    """Create the first admin unless an account exists already (then return None)."""
    check_password_policy(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with ctx.db.write() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            return None
        user = User(email=normalise_email(email), role="admin", password_hash=password_hash)
        session.add(user)
    ctx.auth.has_users = True
    return user


async def list_users(ctx: ApiContext) -> list[UserOut]:
    """Every account, by e-mail."""
    async with ctx.db.read() as session:
        rows = (await session.scalars(select(User).order_by(User.email))).all()
    return [user_out(u) for u in rows]


async def create_user(ctx: ApiContext, email: str, password: str, role: RoleName) -> UserOut:
    """Add an account (409 when the e-mail is taken)."""
    check_password_policy(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    email = normalise_email(email)
    async with ctx.db.write() as session:
        if await session.scalar(select(User.id).where(User.email == email)):
            raise ConflictError(f"a user with e-mail {email!r} exists already")
        user = User(email=email, role=role, password_hash=password_hash)
        session.add(user)
        await session.flush()
        return user_out(user)


async def _other_active_admins(session: AsyncSession, user_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.disabled.is_(False), User.id != user_id)
    )
    return int(count or 0)


async def update_user(
    ctx: ApiContext,
    user_id: str,
    *,
    role: RoleName | None,
    disabled: bool | None,
    password: str | None,
) -> tuple[UserOut, dict[str, object]]:
    """Change role, lock or password; returns the user and what changed (for the audit)."""
    if password is not None:
        check_password_policy(password)
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    changed: dict[str, object] = {}
    async with ctx.db.write() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"no user {user_id}")
        demoting = (role is not None and role != "admin") or disabled is True
        if user.role == "admin" and demoting and not await _other_active_admins(session, user.id):
            raise ConflictError("the last active admin cannot be demoted or disabled")
        if role is not None and role != user.role:
            changed["role"] = {"from": user.role, "to": role}
            user.role = role
        if disabled is not None and disabled != user.disabled:
            changed["disabled"] = disabled
            user.disabled = disabled
        if password_hash is not None:
            changed["password"] = "changed"  # noqa: S105 - what changed, not the value
            user.password_hash = password_hash
            user.password_changed_at = utcnow()
        if changed:
            # Any change of rights or credentials ends the user's sessions.
            await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        return user_out(user), changed


async def delete_user(ctx: ApiContext, user_id: str, *, acting_user_id: str) -> str:
    """Remove an account with its sessions and tokens; returns its e-mail."""
    async with ctx.db.write() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"no user {user_id}")
        if user.id == acting_user_id:
            raise ConflictError("you cannot delete your own account")
        if user.role == "admin" and not await _other_active_admins(session, user.id):
            raise ConflictError("the last active admin cannot be deleted")
        email = user.email
        await session.delete(user)
    return email


# --- sign-in and sessions -------------------------------------------------------------------


async def check_credentials(ctx: ApiContext, email: str, password: str) -> User | None:
    """The enabled user with these credentials, or None (same work either way)."""
    async with ctx.db.read() as session:
        user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    stored = user.password_hash if user is not None else dummy_hash()
    good = await asyncio.to_thread(verify_password, stored, password)
    if user is None or not good or user.disabled:
        return None
    return user


async def start_session(
    ctx: ApiContext,
    user: User,
    *,
    ip: str | None,
    user_agent: str | None,
    replaces: str | None,
) -> tuple[str, str]:
    """A new session for `user`; drops the session id the browser presented (`replaces`).

    Returns the session id (for the cookie) and its CSRF token.
    """
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    async with ctx.db.write() as session:
        if replaces:
            await session.execute(
                delete(UserSession).where(UserSession.token_hash == digest(replaces))
            )
        session.add(
            UserSession(
                token_hash=digest(session_id),
                user_id=user.id,
                csrf_token=csrf,
                ip=ip,
                user_agent=(user_agent or "")[:255] or None,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_MAX_AGE,
            )
        )
        row = await session.get(User, user.id)
        if row is not None:
            row.last_login_at = now
    return session_id, csrf


async def end_session(ctx: ApiContext, session_row_id: str) -> None:
    """Sign one session out."""
    async with ctx.db.write() as session:
        await session.execute(delete(UserSession).where(UserSession.id == session_row_id))


async def end_all_sessions(ctx: ApiContext, user_id: str, *, keep: str | None = None) -> int:
    """Sign a user out everywhere (except the session `keep`); returns how many ended."""
    async with ctx.db.write() as session:
        query = delete(UserSession).where(UserSession.user_id == user_id)
        if keep is not None:
            query = query.where(UserSession.id != keep)
        result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def change_password(ctx: ApiContext, principal: Principal, current: str, new: str) -> None:
    """Change one's own password (sessions only); every other session ends."""
    if principal.kind != "session":
        raise ForbiddenError("API tokens cannot change passwords")
    check_password_policy(new, field="newPassword")
    async with ctx.db.read() as session:
        user = await session.get(User, principal.user_id)
    if user is None or not await asyncio.to_thread(verify_password, user.password_hash, current):
        raise ValidationError(
            "the current password is wrong",
            details=[{"field": "currentPassword", "message": "wrong password"}],
        )
    new_hash = await asyncio.to_thread(hash_password, new)
    async with ctx.db.write() as session:
        row = await session.get(User, principal.user_id)
        if row is not None:
            row.password_hash = new_hash
            row.password_changed_at = utcnow()
    await end_all_sessions(ctx, principal.user_id, keep=principal.session_id)


def _expired(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


async def session_principal(ctx: ApiContext, session_id: str, idle: timedelta) -> Principal | None:
    """The principal of a session cookie, or None when unknown, expired or idle too long."""
    now = utcnow()
    async with ctx.db.read() as session:
        found = (
            await session.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == digest(session_id))
            )
        ).first()
    if found is None:
        return None
    row, user = found[0], found[1]
    if user.disabled or _expired(row.expires_at, now) or row.last_seen_at + idle <= now:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        async with ctx.db.write() as session:
            stored = await session.get(UserSession, row.id)
            if stored is not None:
                stored.last_seen_at = now
    return Principal(
        kind="session",
        user_id=user.id,
        email=user.email,
        role=cast(RoleName, user.role),
        session_id=row.id,
        csrf_token=row.csrf_token,
    )


def csrf_matches(principal: Principal, presented: str | None) -> bool:
    """Constant-time comparison of the presented CSRF token with the session's."""
    return bool(
        presented
        and principal.csrf_token
        and hmac.compare_digest(presented.encode(), principal.csrf_token.encode())
    )


# --- API tokens ---------------------------------------------------------------------------------


async def token_principal(ctx: ApiContext, token: str) -> Principal | None:
    """The principal of an API token, or None when unknown, expired or its owner is disabled."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    now = utcnow()
    async with ctx.db.read() as session:
        found = (
            await session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest(token))
            )
        ).first()
    if found is None:
        return None
    row, user = found[0], found[1]
    if user.disabled or _expired(row.expires_at, now):
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        async with ctx.db.write() as session:
            stored = await session.get(ApiToken, row.id)
            if stored is not None:
                stored.last_used_at = now
    return Principal(
        kind="token",
        user_id=user.id,
        email=user.email,
        role=lesser_role(cast(RoleName, row.role), cast(RoleName, user.role)),
        token_id=row.id,
        token_name=row.name,
    )


def _token_out(row: ApiToken, owner: str) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=cast(RoleName, row.role),
        owner=owner,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


async def list_tokens(ctx: ApiContext, principal: Principal) -> list[TokenOut]:
    """The principal's own tokens (an admin sees everybody's)."""
    async with ctx.db.read() as session:
        query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
        if principal.role != "admin":
            query = query.where(ApiToken.user_id == principal.user_id)
        rows = (await session.execute(query.order_by(ApiToken.created_at.desc()))).all()
    return [_token_out(row, email) for row, email in rows]


async def create_token(ctx: ApiContext, principal: Principal, data: TokenCreate) -> TokenCreatedOut:
    """A new token for the principal's user, at most as privileged as the principal."""
    role: RoleName = data.role or principal.role
    if role_rank(role) > role_rank(principal.role):
        raise ForbiddenError(f"a {principal.role} cannot create a token with role {role}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    row = ApiToken(
        name=data.name.strip() or "token",
        token_hash=digest(token),
        prefix=token[:10],
        role=role,
        user_id=principal.user_id,
        created_at=now,
        expires_at=expires,
    )
    async with ctx.db.write() as session:
        session.add(row)
    out = _token_out(row, principal.email)
    return TokenCreatedOut(**{f: getattr(out, f) for f in out.__struct_fields__}, token=token)


async def revoke_token(ctx: ApiContext, principal: Principal, token_id: str) -> str:
    """Delete a token (one's own; an admin may revoke any); returns its name."""
    async with ctx.db.write() as session:
        row = await session.get(ApiToken, token_id)
        if row is None or (principal.role != "admin" and row.user_id != principal.user_id):
            raise NotFoundError(f"no token {token_id}")
        name = row.name
        await session.delete(row)
    return name
