"""The authorization table: every route of the API → the least role that may call it.

Written by hand from the role policy (README, "Security": a viewer reads everything except
secrets and backup files; an operator also runs, downloads and deletes backups, restores, and
manages databases, schedules, retention and its own API tokens; an admin also manages users, S3
configurations and settings), *not* from the route declarations. Each route's declared
permission (``opt={"permission": ...}``) must be held by its table role and by no role below it
(anonymous below viewer): a route declaring a too-weak permission fails here, and so does a route
missing from the table (or a table row no route answers).

tests/integration/test_auth_matrix.py complements this: it calls every operation over HTTP with
every kind of caller and checks that the guard enforces what the routes declare. This module
checks that what they declare is what the policy says, with the app built but never started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pytest
from litestar import Litestar

from lifeboat.api.app import create_app
from lifeboat.api.auth.permissions import ROLES, AccessRule, allows
from lifeboat.api.settings import Settings

Level = Literal["public", "viewer", "operator", "admin"]
LEVELS: tuple[Level, ...] = ("public", "viewer", "operator", "admin")
"""Least to most privileged: anonymous callers, then the roles."""

PUBLIC: Level = "public"
VIEWER: Level = "viewer"
OPERATOR: Level = "operator"
ADMIN: Level = "admin"

# Litestar's automatic OPTIONS answers pass the guard unchecked (they only say which methods a
# path allows); every other method of every route is in the table.
UNCHECKED_METHODS = frozenset({"OPTIONS"})

TABLE: Mapping[tuple[str, str], Level] = {
    # health and the OpenAPI documents
    ("GET", "/api/health/live"): PUBLIC,
    ("GET", "/api/health/ready"): PUBLIC,
    ("GET", "/schema"): PUBLIC,
    ("GET", "/schema/{path}"): PUBLIC,
    ("GET", "/schema/openapi.json"): PUBLIC,
    ("GET", "/schema/openapi.yaml"): PUBLIC,
    ("GET", "/schema/openapi.yml"): PUBLIC,
    ("GET", "/schema/swagger"): PUBLIC,
    ("GET", "/schema/elements"): PUBLIC,
    ("GET", "/schema/redoc"): PUBLIC,
    ("GET", "/schema/rapidoc"): PUBLIC,
    ("GET", "/schema/oauth2-redirect.html"): PUBLIC,
    # the web UI (index.html for any non-API path; the API under it is guarded on its own)
    **{
        (m, p): PUBLIC
        for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        for p in ("/", "/{path}")
    },
    # signing in and one's own session
    ("GET", "/api/auth/setup"): PUBLIC,
    ("POST", "/api/auth/setup"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("GET", "/api/auth/me"): VIEWER,
    ("POST", "/api/auth/logout"): VIEWER,
    ("POST", "/api/auth/logout-all"): VIEWER,
    ("PUT", "/api/auth/password"): VIEWER,
    # databases
    ("GET", "/api/databases"): VIEWER,
    ("GET", "/api/databases/{config_id}"): VIEWER,
    ("POST", "/api/databases"): OPERATOR,
    ("PUT", "/api/databases/{config_id}"): OPERATOR,
    ("DELETE", "/api/databases/{config_id}"): OPERATOR,
    ("POST", "/api/databases/{config_id}/test-connection"): OPERATOR,
    ("POST", "/api/databases/discover"): OPERATOR,
    # backups
    ("GET", "/api/backups"): VIEWER,
    ("GET", "/api/backups/{backup_id}"): VIEWER,
    ("GET", "/api/backups/{backup_id}/logs"): VIEWER,
    ("POST", "/api/backups/{backup_id}/verify"): OPERATOR,
    ("GET", "/api/backups/{backup_id}/verifications"): VIEWER,
    ("GET", "/api/verifications/{verification_id}"): VIEWER,
    ("POST", "/api/verifications/{verification_id}/cancel"): OPERATOR,
    ("PUT", "/api/databases/{config_id}/verification-target"): OPERATOR,
    ("GET", "/api/events/stream"): VIEWER,
    ("POST", "/api/backups"): OPERATOR,
    ("POST", "/api/backups/{backup_id}/cancel"): OPERATOR,
    ("POST", "/api/backups/{backup_id}/upload-to-s3"): OPERATOR,
    ("GET", "/api/backups/{backup_id}/download"): OPERATOR,  # backup files: not for viewers
    ("DELETE", "/api/backups/{backup_id}"): OPERATOR,
    # restores
    ("GET", "/api/restores"): VIEWER,
    ("GET", "/api/restores/{restore_id}"): VIEWER,
    ("GET", "/api/restores/{restore_id}/logs"): VIEWER,
    ("POST", "/api/restores"): OPERATOR,
    ("POST", "/api/restores/upload"): OPERATOR,
    ("POST", "/api/restores/{restore_id}/cancel"): OPERATOR,
    # schedules
    ("GET", "/api/schedules"): VIEWER,
    ("GET", "/api/schedules/next-runs"): VIEWER,
    ("GET", "/api/schedules/{schedule_id}"): VIEWER,
    ("GET", "/api/schedules/{schedule_id}/next-runs"): VIEWER,
    ("POST", "/api/schedules"): OPERATOR,
    ("PUT", "/api/schedules/{schedule_id}"): OPERATOR,
    ("DELETE", "/api/schedules/{schedule_id}"): OPERATOR,
    ("POST", "/api/schedules/{schedule_id}/enable"): OPERATOR,
    ("POST", "/api/schedules/{schedule_id}/disable"): OPERATOR,
    # retention (a preview changes nothing)
    ("GET", "/api/retention-policies"): VIEWER,
    ("GET", "/api/retention-policies/{policy_id}"): VIEWER,
    ("POST", "/api/retention-policies/preview"): VIEWER,
    ("POST", "/api/retention-policies/{policy_id}/preview"): VIEWER,
    ("POST", "/api/retention-policies"): OPERATOR,
    ("PUT", "/api/retention-policies/{policy_id}"): OPERATOR,
    ("DELETE", "/api/retention-policies/{policy_id}"): OPERATOR,
    # S3 configurations: read by all, managed (and their credentials used) by admins
    ("GET", "/api/s3-configs"): VIEWER,
    ("GET", "/api/s3-configs/{config_id}"): VIEWER,
    ("GET", "/api/s3-configs/{config_id}/objects"): VIEWER,
    ("GET", "/api/s3-configs/{config_id}/buckets"): ADMIN,
    ("POST", "/api/s3-configs"): ADMIN,
    ("PUT", "/api/s3-configs/{config_id}"): ADMIN,
    ("DELETE", "/api/s3-configs/{config_id}"): ADMIN,
    ("POST", "/api/s3-configs/{config_id}/test"): ADMIN,
    ("POST", "/api/s3-configs/{config_id}/import"): ADMIN,
    ("GET", "/api/notification-channels"): VIEWER,
    ("GET", "/api/notification-channels/{channel_id}"): VIEWER,
    ("GET", "/api/notification-channels/{channel_id}/deliveries"): VIEWER,
    ("POST", "/api/notification-channels"): ADMIN,
    ("PUT", "/api/notification-channels/{channel_id}"): ADMIN,
    ("DELETE", "/api/notification-channels/{channel_id}"): ADMIN,
    ("POST", "/api/notification-channels/{channel_id}/test"): ADMIN,
    ("POST", "/api/system/import-local"): ADMIN,
    # system, executors, audit
    ("GET", "/api/system/settings"): VIEWER,
    ("GET", "/api/system/stats"): VIEWER,
    ("GET", "/api/dashboard/backup-history"): VIEWER,
    ("GET", "/api/system/status"): VIEWER,
    ("GET", "/api/executors"): VIEWER,
    ("GET", "/api/executors/warnings"): VIEWER,
    ("GET", "/api/schedulers"): VIEWER,
    ("GET", "/api/logs"): VIEWER,
    # Prometheus: the guard lets it through and the handler checks METRICS_TOKEN, METRICS_ALLOW
    # or an API token / session holding system.view (tests/integration/test_metrics.py).
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/audit"): VIEWER,
    ("PUT", "/api/system/settings"): ADMIN,
    ("POST", "/api/system/maintenance"): ADMIN,
    ("POST", "/api/system/config/export"): ADMIN,  # secrets, sealed under a passphrase
    ("POST", "/api/system/config/import"): ADMIN,
    # API tokens (one's own) and users
    ("GET", "/api/tokens"): OPERATOR,
    ("POST", "/api/tokens"): OPERATOR,
    ("DELETE", "/api/tokens/{token_id}"): OPERATOR,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("PUT", "/api/users/{user_id}"): ADMIN,
    ("DELETE", "/api/users/{user_id}"): ADMIN,
}


def holds(level: Level, rule: AccessRule) -> bool:
    """Whether a caller of `level` (anonymous for "public") passes `rule`."""
    if rule.public:
        return True
    return level != PUBLIC and rule.permission is not None and allows(level, rule.permission)


def declared_rules(app: Litestar) -> dict[tuple[str, str], AccessRule | None]:
    """(method, path template) → the access rule its handler declares (None: none or a bad one)."""
    rules: dict[tuple[str, str], AccessRule | None] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if str(method) not in UNCHECKED_METHODS:
                    rules[(str(method), route.path_format)] = AccessRule.of(handler.opt)
    return rules


def violations(
    table: Mapping[tuple[str, str], Level], rules: Mapping[tuple[str, str], AccessRule | None]
) -> list[str]:
    """What disagrees between the table and the declared rules (empty: they agree)."""
    found: list[str] = []
    for key in sorted(rules.keys() - table.keys()):
        found.append(f"{key[0]} {key[1]}: a route missing from the authorization table")
    for key in sorted(table.keys() - rules.keys()):
        found.append(f"{key[0]} {key[1]}: in the table, but no route answers it")
    for key in sorted(rules.keys() & table.keys()):
        rule, level = rules[key], table[key]
        where = f"{key[0]} {key[1]}"
        if rule is None:
            found.append(f"{where}: declares no (valid) access rule")
            continue
        declared = "public" if rule.public else rule.permission
        if not holds(level, rule):
            found.append(f"{where}: {declared} is not held by {level}, its least role")
        index = LEVELS.index(level)
        if index > 0 and holds(LEVELS[index - 1], rule):
            found.append(f"{where}: {declared} is too weak: {LEVELS[index - 1]} passes it")
    return found


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    """The API app, built for a tmp data dir and a static dir with a UI, never started."""
    data = tmp_path_factory.mktemp("authz")
    static = data / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html>")
    settings = Settings.from_env(
        {
            "DATA_DIR": str(data),
            "STATIC_DIR": str(static),
            "NATS_URL": "nats://127.0.0.1:1",  # never connected: the app is not started
            "ENCRYPTION_KEY": "unit-encryption-key-0123456789abcdef0123456789",
            "EXECUTOR_SEAL_KEY": "unit-executor-seal-key-0123456789abcdef012345",
        }
    )
    return create_app(settings)


def test_every_route_has_its_least_role_in_the_table(app: Litestar) -> None:
    rules = declared_rules(app)
    assert len(rules) > 80
    assert violations(TABLE, rules) == []


def test_every_role_level_is_used() -> None:
    assert set(TABLE.values()) == set(LEVELS)
    assert LEVELS[1:] == ROLES


def test_a_too_weak_or_missing_declaration_fails(app: Litestar) -> None:
    """The check itself: doctored declarations are caught."""
    rules = declared_rules(app)
    users = ("DELETE", "/api/users/{user_id}")
    weak = {**rules, users: AccessRule(public=False, permission="database.manage")}
    assert violations(TABLE, weak) == [
        "DELETE /api/users/{user_id}: database.manage is too weak: operator passes it"
    ]
    opened = {**rules, users: AccessRule(public=True, permission=None)}
    assert violations(TABLE, opened) == [
        "DELETE /api/users/{user_id}: public is too weak: operator passes it"
    ]
    me = ("GET", "/api/auth/me")
    public = {**rules, me: AccessRule(public=True, permission=None)}
    assert violations(TABLE, public) == ["GET /api/auth/me: public is too weak: public passes it"]
    strong = {**rules, me: AccessRule(public=False, permission="user.manage")}
    assert violations(TABLE, strong) == [
        "GET /api/auth/me: user.manage is not held by viewer, its least role"
    ]
    undeclared = {**rules, me: None}
    assert violations(TABLE, undeclared) == ["GET /api/auth/me: declares no (valid) access rule"]
    new = {**rules, ("POST", "/api/new"): AccessRule(public=False, permission="backup.view")}
    assert violations(TABLE, new) == ["POST /api/new: a route missing from the authorization table"]
    gone = {key: rule for key, rule in rules.items() if key != me}
    assert violations(TABLE, gone) == ["GET /api/auth/me: in the table, but no route answers it"]
