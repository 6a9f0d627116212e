"""The one table of who may do what: permissions, roles and the route access rule.

Every route handler declares ``opt={"permission": "<name>"}`` or ``opt={"public": True}``; the
guard (:mod:`lifeboat.api.auth.guard`) refuses any route that declares neither (default deny).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

RoleName = Literal["viewer", "operator", "admin"]

ROLES: tuple[RoleName, ...] = ("viewer", "operator", "admin")
"""Roles from least to most privileged."""

VIEW_PERMISSIONS = frozenset(
    {
        "database.view",
        "backup.view",
        "restore.view",
        "schedule.view",
        "retention.view",
        "s3.view",
        "system.view",
        "audit.view",
        # Every signed-in principal may see and manage its own session (me, logout, password).
        "account.self",
    }
)
OPERATOR_PERMISSIONS = VIEW_PERMISSIONS | {
    "backup.execute",
    "backup.download",
    "backup.delete",
    "restore.execute",
    "schedule.manage",
    "retention.manage",
    "database.manage",
    "token.manage",
}
ADMIN_PERMISSIONS = OPERATOR_PERMISSIONS | {
    "s3.manage",
    "system.configure",
    "user.manage",
}

PERMISSIONS: frozenset[str] = ADMIN_PERMISSIONS
"""Every permission a route may require."""

ROLE_PERMISSIONS: Mapping[RoleName, frozenset[str]] = {
    "viewer": frozenset(VIEW_PERMISSIONS),
    "operator": frozenset(OPERATOR_PERMISSIONS),
    "admin": frozenset(ADMIN_PERMISSIONS),
}


def role_rank(role: str) -> int:
    """0 for viewer, 1 for operator, 2 for admin (ValueError for anything else)."""
    return ROLES.index(role)  # type: ignore[arg-type]


def lesser_role(a: RoleName, b: RoleName) -> RoleName:
    """The less privileged of two roles."""
    return a if role_rank(a) <= role_rank(b) else b


def allows(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`."""
    granted = ROLE_PERMISSIONS.get(role)  # type: ignore[call-overload]
    return granted is not None and permission in granted


class AccessRule:
    """What a route handler's ``opt`` asks for."""

    __slots__ = ("permission", "public")

    def __init__(self, *, public: bool, permission: str | None) -> None:
        self.public = public
        self.permission = permission

    @classmethod
    def of(cls, opt: Mapping[str, Any]) -> AccessRule | None:
        """The rule declared in `opt`, or None when the route declares none (or a bad one)."""
        if opt.get("public") is True:
            return cls(public=True, permission=None)
        permission = opt.get("permission")
        if isinstance(permission, str) and permission in PERMISSIONS:
            return cls(public=False, permission=permission)
        return None
