"""HTTP handlers of sign-in (/api/auth), users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import Cookie
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from lifeboat.api.auth import service
from lifeboat.api.auth.audit import audit, list_audit, record_audit, request_ip
from lifeboat.api.auth.guard import principal_of
from lifeboat.api.auth.permissions import ROLE_PERMISSIONS
from lifeboat.api.auth.schemas import (
    AuditOut,
    Credentials,
    MeOut,
    PasswordChange,
    SetupStatusOut,
    TokenCreate,
    TokenCreatedOut,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from lifeboat.api.auth.service import CSRF_COOKIE, SESSION_COOKIE, Principal
from lifeboat.api.context import ApiContext, Ctx
from lifeboat.api.db.auth_models import User
from lifeboat.api.domain.common import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE
from lifeboat.api.envelope import Envelope, ok, paged
from lifeboat.core.errors import ConflictError, UnauthorizedError

AnyRequest = Request[Any, Any, Any]
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def cookie_secure(ctx: ApiContext, request: AnyRequest) -> bool:
    """COOKIE_SECURE: true, false, or auto (secure unless plain http on localhost)."""
    mode = ctx.settings.auth.cookie_secure
    if mode != "auto":
        return mode == "true"
    return not (request.url.scheme == "http" and (request.url.hostname or "") in _LOCAL_HOSTS)


def _cookies(ctx: ApiContext, request: AnyRequest, session_id: str, csrf: str) -> list[Cookie]:
    secure = cookie_secure(ctx, request)
    max_age = int(service.SESSION_MAX_AGE.total_seconds())
    common: dict[str, Any] = {"path": "/", "secure": secure, "samesite": "lax", "max_age": max_age}
    return [
        Cookie(key=SESSION_COOKIE, value=session_id, httponly=True, **common),
        # Readable by the SPA: it echoes this in X-CSRF-Token (double submit).
        Cookie(key=CSRF_COOKIE, value=csrf, httponly=False, **common),
    ]


def _cleared(ctx: ApiContext, request: AnyRequest) -> list[Cookie]:
    secure = cookie_secure(ctx, request)
    return [
        Cookie(key=name, value="", path="/", max_age=0, secure=secure, samesite="lax")
        for name in (SESSION_COOKIE, CSRF_COOKIE)
    ]


def me_out(principal: Principal) -> MeOut:
    """The principal as the /me DTO."""
    return MeOut(
        id=principal.user_id,
        email=principal.email,
        role=principal.role,
        permissions=sorted(ROLE_PERMISSIONS[principal.role]),
        auth_method=principal.kind,
        csrf_token=principal.csrf_token,
        token_name=principal.token_name,
    )


async def _signed_in(
    ctx: ApiContext, request: AnyRequest, user: User, status: int
) -> Response[Envelope[MeOut]]:
    session_id, csrf = await service.start_session(
        ctx,
        user,
        ip=request_ip(request),
        user_agent=request.headers.get("user-agent"),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    principal = Principal(
        kind="session",
        user_id=user.id,
        email=user.email,
        role=user.role,  # type: ignore[arg-type]
        csrf_token=csrf,
    )
    return Response(
        ok(me_out(principal)),
        status_code=status,
        cookies=_cookies(ctx, request, session_id, csrf),
    )


async def _audit_login(
    ctx: ApiContext, request: AnyRequest, email: str, outcome: str, reason: str | None
) -> None:
    async with ctx.db.write() as session:
        await record_audit(
            session,
            f"user:{service.normalise_email(email)}",
            "auth.login",
            service.normalise_email(email),
            {"reason": reason} if reason else None,
            request_ip(request),
            outcome=outcome,
        )


class AuthController(Controller):
    """First-run setup, sign-in, sign-out, the current principal, own password."""

    path = "/api/auth"
    tags = ["auth"]

    @get("/setup", opt={"public": True}, summary="Whether first-run setup is needed")
    async def setup_status(self, ctx: Ctx) -> Envelope[SetupStatusOut]:
        """``setupRequired`` is true until the first admin account exists."""
        return ok(SetupStatusOut(setup_required=not await service.has_users(ctx)))

    @post(
        "/setup",
        opt={"public": True},
        status_code=HTTP_201_CREATED,
        summary="Create the first admin account",
    )
    async def setup(
        self, ctx: Ctx, request: AnyRequest, data: JSONBody[Credentials]
    ) -> Response[Envelope[MeOut]]:
        """Only while no account exists; signs the new admin in."""
        if await service.has_users(ctx):
            raise ConflictError("Lifeboat is set up already: sign in")
        user = await service.create_first_admin(ctx, data.email, data.password)
        if user is None:
            raise ConflictError("Lifeboat is set up already: sign in")
        async with ctx.db.write() as session:
            await record_audit(
                session, f"user:{user.email}", "auth.setup", user.email, None, request_ip(request)
            )
        return await _signed_in(ctx, request, user, HTTP_201_CREATED)

    @post("/login", opt={"public": True}, status_code=HTTP_200_OK, summary="Sign in")
    async def login(
        self, ctx: Ctx, request: AnyRequest, data: JSONBody[Credentials]
    ) -> Response[Envelope[MeOut]]:
        """Check the credentials (throttled per account and IP) and start a new session."""
        if not await service.has_users(ctx):
            raise service.SetupRequiredError("Lifeboat is not set up: create the first admin")
        ip = request_ip(request)
        throttle = ctx.auth.throttle
        wait = throttle.retry_after(data.email, ip)
        if wait > 0:
            await _audit_login(ctx, request, data.email, "blocked", "too many failures")
            raise service.TooManyRequestsError(
                "too many failed sign-ins: try again later", retry_after=wait
            )
        user = await service.check_credentials(ctx, data.email, data.password)
        if user is None:
            throttle.failure(data.email, ip)
            await _audit_login(ctx, request, data.email, "failure", "wrong credentials")
            raise UnauthorizedError("wrong e-mail or password")
        throttle.success(data.email)
        await _audit_login(ctx, request, data.email, "success", None)
        return await _signed_in(ctx, request, user, HTTP_200_OK)

    @get("/me", opt={"permission": "account.self"}, summary="The signed-in principal")
    async def me(self, request: AnyRequest) -> Envelope[MeOut]:
        """User, role, permissions and (for sessions) the CSRF token."""
        return ok(me_out(principal_of(request)))

    @post(
        "/logout",
        opt={"permission": "account.self"},
        status_code=HTTP_200_OK,
        summary="Sign out",
    )
    async def logout(self, ctx: Ctx, request: AnyRequest) -> Response[Envelope[None]]:
        """End this session."""
        principal = principal_of(request)
        if principal.session_id is not None:
            await service.end_session(ctx, principal.session_id)
            await audit(ctx, request, "auth.logout", principal.email)
        return Response(ok(None), cookies=_cleared(ctx, request))

    @post(
        "/logout-all",
        opt={"permission": "account.self"},
        status_code=HTTP_200_OK,
        summary="Sign out everywhere",
    )
    async def logout_all(self, ctx: Ctx, request: AnyRequest) -> Response[Envelope[None]]:
        """End every session of the signed-in user."""
        principal = principal_of(request)
        count = await service.end_all_sessions(ctx, principal.user_id)
        await audit(ctx, request, "auth.logout_all", principal.email, {"sessions": count})
        return Response(ok(None), cookies=_cleared(ctx, request))

    @put("/password", opt={"permission": "account.self"}, summary="Change your password")
    async def change_password(
        self, ctx: Ctx, request: AnyRequest, data: JSONBody[PasswordChange]
    ) -> Envelope[None]:
        """Needs the current password; every other session of the user ends."""
        principal = principal_of(request)
        await service.change_password(ctx, principal, data.current_password, data.new_password)
        await audit(ctx, request, "user.password_change", principal.email)
        return ok(None)


class UserController(Controller):
    """User accounts (admins only)."""

    path = "/api/users"
    tags = ["users"]
    opt = {"permission": "user.manage"}

    @get("/", summary="List users")
    async def list_users(self, ctx: Ctx) -> Envelope[list[UserOut]]:
        """Every account."""
        return ok(await service.list_users(ctx))

    @post("/", status_code=HTTP_201_CREATED, summary="Create a user")
    async def create_user(
        self, ctx: Ctx, request: AnyRequest, data: JSONBody[UserCreate]
    ) -> Envelope[UserOut]:
        """A new account with a role."""
        user = await service.create_user(ctx, data.email, data.password, data.role)
        await audit(ctx, request, "user.create", user.email, {"role": user.role})
        return ok(user)

    @put("/{user_id:str}", summary="Update a user")
    async def update_user(
        self, ctx: Ctx, request: AnyRequest, user_id: FromPath[str], data: JSONBody[UserUpdate]
    ) -> Envelope[UserOut]:
        """Role, disabled flag, password reset; the user's sessions end on any change."""
        user, changed = await service.update_user(
            ctx, user_id, role=data.role, disabled=data.disabled, password=data.password
        )
        if changed:
            await audit(ctx, request, "user.update", user.email, {"changed": changed})
        return ok(user)

    @delete("/{user_id:str}", status_code=HTTP_200_OK, summary="Delete a user")
    async def delete_user(
        self, ctx: Ctx, request: AnyRequest, user_id: FromPath[str]
    ) -> Envelope[None]:
        """Remove the account with its sessions and tokens."""
        email = await service.delete_user(
            ctx, user_id, acting_user_id=principal_of(request).user_id
        )
        await audit(ctx, request, "user.delete", email)
        return ok(None)


class TokenController(Controller):
    """API tokens of the signed-in user."""

    path = "/api/tokens"
    tags = ["tokens"]
    opt = {"permission": "token.manage"}

    @get("/", summary="List API tokens")
    async def list_tokens(self, ctx: Ctx, request: AnyRequest) -> Envelope[list[TokenOut]]:
        """Your tokens (admins: everyone's), newest first."""
        return ok(await service.list_tokens(ctx, principal_of(request)))

    @post("/", status_code=HTTP_201_CREATED, summary="Create an API token")
    async def create_token(
        self, ctx: Ctx, request: AnyRequest, data: JSONBody[TokenCreate]
    ) -> Envelope[TokenCreatedOut]:
        """The token is in the response once and never again."""
        created = await service.create_token(ctx, principal_of(request), data)
        await audit(
            ctx,
            request,
            "token.create",
            created.name,
            {"role": created.role, "expiresAt": created.expires_at, "tokenId": created.id},
        )
        return ok(created)

    @delete("/{token_id:str}", status_code=HTTP_200_OK, summary="Revoke an API token")
    async def revoke_token(
        self, ctx: Ctx, request: AnyRequest, token_id: FromPath[str]
    ) -> Envelope[None]:
        """Revoke one of your tokens (admins: any token)."""
        name = await service.revoke_token(ctx, principal_of(request), token_id)
        await audit(ctx, request, "token.revoke", name, {"tokenId": token_id})
        return ok(None)


class AuditController(Controller):
    """The audit trail."""

    path = "/api/audit"
    tags = ["audit"]

    @get("/", opt={"permission": "audit.view"}, summary="List audit events")
    async def list_events(
        self,
        ctx: Ctx,
        action: Annotated[str | None, QueryParameter(name="action", max_length=64)] = None,
        actor: Annotated[str | None, QueryParameter(name="actor", max_length=255)] = None,
        since: Annotated[datetime | None, QueryParameter(name="since")] = None,
        until: Annotated[datetime | None, QueryParameter(name="until")] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> Envelope[list[AuditOut]]:
        """Newest first; `action` matches a prefix (``backup``), `actor` a substring."""
        items, total = await list_audit(
            ctx, action=action, actor=actor, since=since, until=until, page=page, limit=limit
        )
        return paged(items, page=page, limit=limit, total=total)
