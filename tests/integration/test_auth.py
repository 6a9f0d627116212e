"""Sign-in, sessions, CSRF, lockout, tokens, audit trail, hardening (the key check and
rotation: test_key_rotation.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lifeboat.api.auth.service import CSRF_COOKIE, SESSION_COOKIE
from lifeboat.api.auth.throttle import Limits, LoginThrottle
from tests.support.api import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RunningApi,
    api_settings,
    data_of,
    database_body,
    error_of,
    make_token,
    serve_api,
)

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(api_settings(tmp_path_factory.mktemp("api-auth"), nats_url)) as running:
        yield running


async def browser(api: RunningApi) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api.url, timeout=30)


async def login(
    client: httpx.AsyncClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> str:
    return str(
        data_of(await client.post("/api/auth/login", json={"email": email, "password": password}))[
            "csrfToken"
        ]
    )


async def test_first_run_setup(tmp_path: Path, nats_url: str) -> None:
    settings = api_settings(tmp_path, nats_url, ADMIN_EMAIL="", ADMIN_PASSWORD="")
    async with serve_api(settings, authenticated=False) as api:
        client = api.client
        assert data_of(await client.get("/api/auth/setup")) == {"setupRequired": True}
        error_of(await client.get("/api/databases"), 401, "SETUP_REQUIRED")
        error_of(
            await client.post("/api/auth/login", json={"email": "a@b.c", "password": "x" * 12}),
            401,
            "SETUP_REQUIRED",
        )
        assert (await client.get("/api/health/live")).status_code == 200
        error_of(
            await client.post(
                "/api/auth/setup", json={"email": "root@x.test", "password": "short"}
            ),
            400,
            "VALIDATION_ERROR",
        )
        me = data_of(
            await client.post(
                "/api/auth/setup", json={"email": "Root@X.test", "password": "first-admin-pw-1"}
            ),
            201,
        )
        assert me["role"] == "admin" and me["email"] == "root@x.test"
        assert data_of(await client.get("/api/databases")) == []  # signed in by the cookie
        error_of(
            await client.post(
                "/api/auth/setup", json={"email": "evil@x.test", "password": "second-admin-pw"}
            ),
            409,
            "CONFLICT",
        )
        async with httpx.AsyncClient(base_url=api.url) as anonymous:
            error_of(await anonymous.get("/api/databases"), 401, "UNAUTHORIZED")


async def test_cookies_and_csrf(api: RunningApi) -> None:
    async with await browser(api) as client:
        response = await client.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        csrf = data_of(response)["csrfToken"]
        set_cookie = response.headers.get_list("set-cookie")
        session = next(c for c in set_cookie if c.startswith(f"{SESSION_COOKIE}="))
        assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
        assert "Secure" not in session  # plain http on localhost (COOKIE_SECURE=auto)
        assert client.cookies.get(CSRF_COOKIE) == csrf
        # the session id is stored hashed only
        with sqlite3.connect(api.settings.database_path) as conn:
            hashes = [h for (h,) in conn.execute("select token_hash from user_sessions")]
        assert client.cookies.get(SESSION_COOKIE) not in hashes

        body = database_body("csrf-db", "default")
        error_of(await client.post("/api/databases", json=body), 403, "CSRF_FAILED")
        error_of(
            await client.post("/api/databases", json=body, headers={"X-CSRF-Token": "wrong"}),
            403,
            "CSRF_FAILED",
        )
        data_of(await client.get("/api/databases"))  # safe methods need no token
        created = data_of(
            await client.post("/api/databases", json=body, headers={"X-CSRF-Token": csrf}), 201
        )
        error_of(await client.delete(f"/api/databases/{created['id']}"), 403, "CSRF_FAILED")
        me = data_of(await client.get("/api/auth/me"))
        assert me["csrfToken"] == csrf and me["authMethod"] == "session"


async def test_secure_cookie_when_configured(tmp_path: Path, nats_url: str) -> None:
    async with serve_api(api_settings(tmp_path, nats_url, COOKIE_SECURE="true")) as api:
        response = await api.client.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


async def test_session_fixation(api: RunningApi) -> None:
    async with await browser(api) as client:
        await login(client)
        before = client.cookies.get(SESSION_COOKIE)
        assert before
        # signing in again with the old cookie present issues a new id and kills the old one
        await login(client)
        after = client.cookies.get(SESSION_COOKIE)
        assert after and after != before
    async with httpx.AsyncClient(base_url=api.url, cookies={SESSION_COOKIE: before}) as planted:
        error_of(await planted.get("/api/auth/me"), 401, "UNAUTHORIZED")
    # an id chosen by an attacker before sign-in is never adopted
    planted_cookie = {"Cookie": f"{SESSION_COOKIE}=attacker-chosen-id"}
    async with httpx.AsyncClient(base_url=api.url) as raw:
        response = await raw.post(
            "/api/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            headers=planted_cookie,
        )
        data_of(response)
        issued = response.cookies.get(SESSION_COOKIE)
        assert issued and issued != "attacker-chosen-id"
        raw.cookies.clear()
        error_of(await raw.get("/api/auth/me", headers=planted_cookie), 401, "UNAUTHORIZED")


async def test_logout_and_logout_everywhere(api: RunningApi) -> None:
    async with await browser(api) as one, await browser(api) as two:
        csrf_one = await login(one)
        csrf_two = await login(two)
        data_of(await one.post("/api/auth/logout", headers={"X-CSRF-Token": csrf_one}))
        error_of(await one.get("/api/auth/me"), 401, "UNAUTHORIZED")
        data_of(await two.get("/api/auth/me"))
        csrf_one = await login(one)
        data_of(await two.post("/api/auth/logout-all", headers={"X-CSRF-Token": csrf_two}))
        error_of(await one.get("/api/auth/me"), 401, "UNAUTHORIZED")
        error_of(await two.get("/api/auth/me"), 401, "UNAUTHORIZED")
    data_of(await api.client.get("/api/auth/me"))  # API tokens are not sessions


async def test_brute_force_lockout(api: RunningApi) -> None:
    data_of(
        await api.client.post(
            "/api/users",
            json={"email": "victim@x.test", "password": "victim-password-1", "role": "viewer"},
        ),
        201,
    )
    async with await browser(api) as client:
        for _ in range(5):
            error_of(
                await client.post(
                    "/api/auth/login", json={"email": "victim@x.test", "password": "guess-123456"}
                ),
                401,
                "UNAUTHORIZED",
            )
        locked = await client.post(
            "/api/auth/login", json={"email": "victim@x.test", "password": "victim-password-1"}
        )
        error_of(locked, 429, "TOO_MANY_REQUESTS")
        assert int(locked.headers["retry-after"]) >= 1
    failures = data_of(
        await api.client.get("/api/audit", params={"action": "auth.login", "actor": "victim@"})
    )
    outcomes = [e["outcome"] for e in failures]
    assert outcomes.count("failure") == 5 and "blocked" in outcomes
    assert all(e["ip"] == "127.0.0.1" for e in failures)
    api.ctx.auth.throttle = LoginThrottle()  # unlock for the other tests


def test_throttle_back_off_per_account_and_ip() -> None:
    now = [0.0]
    throttle = LoginThrottle(
        account=Limits(threshold=3, base_s=10, max_s=40),
        ip=Limits(threshold=5, base_s=100, max_s=1000),
        clock=lambda: now[0],
    )
    for _ in range(3):
        assert throttle.retry_after("a@x", "1.1.1.1") == 0
        throttle.failure("a@x", "1.1.1.1")
    assert throttle.retry_after("A@X", "9.9.9.9") == 10  # per account, whatever the IP
    now[0] = 11
    assert throttle.retry_after("a@x", "9.9.9.9") == 0
    throttle.failure("a@x", "1.1.1.1")
    assert throttle.retry_after("a@x", "9.9.9.9") == 20  # doubled
    throttle.failure("b@x", "1.1.1.1")  # fifth failure from this IP
    assert throttle.retry_after("c@x", "1.1.1.1") == 100  # per IP, whatever the account
    throttle.success("a@x")
    assert throttle.retry_after("a@x", "9.9.9.9") == 0


async def test_tokens_shown_once_scoped_and_revocable(api: RunningApi) -> None:
    created = data_of(
        await api.client.post("/api/tokens", json={"name": "ci", "role": "viewer"}), 201
    )
    token = created["token"]
    assert token.startswith("lb_") and created["role"] == "viewer"
    listed = data_of(await api.client.get("/api/tokens"))
    assert all("token" not in t for t in listed)
    with sqlite3.connect(api.settings.database_path) as conn:
        stored = [h for (h,) in conn.execute("select token_hash from api_tokens")]
    assert token not in stored
    async with httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {token}"}
    ) as viewer:
        data_of(await viewer.get("/api/databases"))
        error_of(await viewer.post("/api/databases", json={}), 403, "FORBIDDEN")
        error_of(await viewer.get("/api/tokens"), 403, "FORBIDDEN")
        used = next(
            t for t in data_of(await api.client.get("/api/tokens")) if t["id"] == created["id"]
        )
        assert used["lastUsedAt"] is not None
        data_of(await api.client.delete(f"/api/tokens/{created['id']}"))
        error_of(await viewer.get("/api/databases"), 401, "UNAUTHORIZED")
    # an operator cannot mint an admin token
    operator = await make_token(api.ctx, "operator")
    async with httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {operator}"}
    ) as client:
        error_of(
            await client.post("/api/tokens", json={"name": "up", "role": "admin"}), 403, "FORBIDDEN"
        )
        assert data_of(await client.post("/api/tokens", json={"name": "same"}), 201)["role"] == (
            "operator"
        )
    error_of(
        await api.client.get("/api/databases", headers={"Authorization": "Basic abc"}),
        401,
        "UNAUTHORIZED",
    )


async def test_expired_token_refused(api: RunningApi) -> None:
    created = data_of(
        await api.client.post("/api/tokens", json={"name": "short", "expiresInDays": 1}), 201
    )
    with sqlite3.connect(api.settings.database_path) as conn:
        conn.execute(
            "update api_tokens set expires_at = '2000-01-01 00:00:00' where id = ?",
            (created["id"],),
        )
    async with httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {created['token']}"}
    ) as client:
        error_of(await client.get("/api/databases"), 401, "UNAUTHORIZED")


async def test_users_roles_and_password_change(api: RunningApi) -> None:
    user = data_of(
        await api.client.post(
            "/api/users",
            json={"email": "op@x.test", "password": "operator-pass-1", "role": "operator"},
        ),
        201,
    )
    error_of(
        await api.client.post(
            "/api/users", json={"email": "OP@x.test", "password": "operator-pass-1"}
        ),
        409,
        "CONFLICT",
    )
    async with await browser(api) as client:
        csrf = await login(client, "op@x.test", "operator-pass-1")
        error_of(await client.get("/api/users"), 403, "FORBIDDEN")
        error_of(
            await client.put(
                "/api/auth/password",
                json={"currentPassword": "wrong-password", "newPassword": "operator-pass-2"},
                headers={"X-CSRF-Token": csrf},
            ),
            400,
            "VALIDATION_ERROR",
        )
        data_of(
            await client.put(
                "/api/auth/password",
                json={"currentPassword": "operator-pass-1", "newPassword": "operator-pass-2"},
                headers={"X-CSRF-Token": csrf},
            )
        )
        data_of(await client.get("/api/auth/me"))  # this session stays
    async with await browser(api) as client:
        error_of(
            await client.post(
                "/api/auth/login", json={"email": "op@x.test", "password": "operator-pass-1"}
            ),
            401,
            "UNAUTHORIZED",
        )
        await login(client, "op@x.test", "operator-pass-2")
        data_of(await api.client.put(f"/api/users/{user['id']}", json={"role": "viewer"}))
        error_of(await client.get("/api/auth/me"), 401, "UNAUTHORIZED")  # role change ends sessions
    admins = [u for u in data_of(await api.client.get("/api/users")) if u["role"] == "admin"]
    assert len(admins) == 1
    error_of(
        await api.client.put(f"/api/users/{admins[0]['id']}", json={"role": "viewer"}),
        409,
        "CONFLICT",
    )
    error_of(await api.client.delete(f"/api/users/{admins[0]['id']}"), 409, "CONFLICT")
    data_of(await api.client.delete(f"/api/users/{user['id']}"))


async def test_audit_trail_masks_secrets_and_filters(api: RunningApi) -> None:
    created = data_of(
        await api.client.post(
            "/api/databases", json=database_body("audited", "default", password="Sup3r-secret-pw")
        ),
        201,
    )
    data_of(
        await api.client.put(
            f"/api/databases/{created['id']}",
            json={"password": "N3w-secret", "skipConnectionTest": True},
        )
    )
    data_of(await api.client.delete(f"/api/databases/{created['id']}"))
    data_of(await api.client.put("/api/system/settings", json={"allow_private_endpoints": True}))
    events = data_of(await api.client.get("/api/audit", params={"action": "database"}))
    actions = {e["action"] for e in events}
    assert {"database.create", "database.update", "database.delete"} <= actions
    text = (await api.client.get("/api/audit", params={"limit": 200})).text
    assert "Sup3r-secret-pw" not in text and "N3w-secret" not in text
    update = next(e for e in events if e["action"] == "database.update")
    assert update["details"]["changed"]["password"] == "***"
    assert update["actor"].startswith("token:") and update["ip"] == "127.0.0.1"
    settings = data_of(await api.client.get("/api/audit", params={"action": "settings.update"}))
    assert settings[0]["details"] == {"changed": {"allow_private_endpoints": True}}
    page = (await api.client.get("/api/audit", params={"limit": 1, "page": 2})).json()
    assert page["meta"]["limit"] == 1 and page["meta"]["total"] >= 4 and len(page["data"]) == 1
    future = data_of(await api.client.get("/api/audit", params={"since": "2999-01-01T00:00:00Z"}))
    assert future == []
    data_of(await api.client.put("/api/system/settings", json={"allow_private_endpoints": False}))
    error_of(
        await api.client.put("/api/system/settings", json={"allow_private_endpoints": "yes"}),
        400,
        "VALIDATION_ERROR",
    )
    error_of(
        await api.client.put("/api/system/settings", json={"internal.key_check": "x"}),
        400,
        "VALIDATION_ERROR",
    )
    keys = {s["key"] for s in data_of(await api.client.get("/api/system/settings"))}
    assert "allow_private_endpoints" in keys and not any(k.startswith("internal.") for k in keys)


async def test_download_path_traversal(api: RunningApi) -> None:
    for backup_id in (
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "....//....//etc/passwd",
        "%00",
    ):
        response = await api.client.get(f"/api/backups/{backup_id}/download")
        assert response.status_code in (400, 404), (backup_id, response.status_code)
        assert "root:" not in response.text
    # clients normalise dot segments: this never reaches the backups routes at all
    response = await api.client.get("/api/backups/../../../../etc/passwd/download")
    assert "root:" not in response.text


async def test_security_headers_and_closed_cors(api: RunningApi) -> None:
    for path in ("/api/health/live", "/api/databases", "/api/nope"):
        response = await api.client.get(path, headers={"Origin": "https://evil.example"})
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "access-control-allow-origin" not in headers
    preflight = await api.client.options(
        "/api/databases",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_opened_by_env(tmp_path: Path, nats_url: str) -> None:
    settings = api_settings(tmp_path, nats_url, CORS_ORIGINS="https://ui.example")
    async with serve_api(settings) as api:
        response = await api.client.get("/api/databases", headers={"Origin": "https://ui.example"})
        assert response.headers["access-control-allow-origin"] == "https://ui.example"
        other = await api.client.get("/api/databases", headers={"Origin": "https://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"
