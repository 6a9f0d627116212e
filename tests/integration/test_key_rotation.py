"""The encryption key: start-up refused with the wrong key, rotation offline and while the API
runs (sign-in, sessions and the rest of auth: test_auth.py)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from lifeboat.api.context import ApiContext
from lifeboat.api.keyring import rotate_key, verify_key
from lifeboat.api.settings import Settings
from lifeboat.core.errors import ConfigurationError
from tests.support.api import (
    TEST_ENCRYPTION_KEY,
    api_settings,
    data_of,
    database_body,
    eventually,
    serve_api,
)

pytestmark = [pytest.mark.integration]

NEW_KEY = "rotated-encryption-key-0123456789abcdef012345"


async def refused(settings: Settings) -> None:
    """Start-up with this key stops at the key check, with a clear message."""
    ctx = ApiContext.build(settings)
    try:
        with pytest.raises(ConfigurationError, match="ENCRYPTION_KEY is not the key"):
            await verify_key(ctx)
    finally:
        await ctx.db.dispose()


async def test_wrong_key_refused_and_rotation(tmp_path: Path, nats_url: str) -> None:
    settings = api_settings(tmp_path, nats_url)
    async with serve_api(settings) as api:
        db = data_of(
            await api.client.post(
                "/api/databases", json=database_body("keyed", "default", password="R0tate-me!")
            ),
            201,
        )
    wrong = api_settings(
        tmp_path, nats_url, ENCRYPTION_KEY="a-completely-different-key-0123456789ab"
    )
    await refused(wrong)

    # the command line: rotate to a new key
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "NEW_ENCRYPTION_KEY": NEW_KEY,
        "EXECUTOR_SEAL_KEY": "test-executor-seal-key-0123456789abcdef012345",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lifeboat.api",
        "rotate-key",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "re-encrypted 1 secrets" in out.decode()
    # every *_encrypted column is covered, whichever feature added it
    assert "s3_configs.secret_access_key_encrypted" in out.decode()
    with sqlite3.connect(settings.database_path) as conn:
        (token,) = conn.execute(
            "select password_encrypted from database_configs where id = ?", (db["id"],)
        ).fetchone()
        (version,) = conn.execute(
            "select value from system_settings where key = 'internal.key_version'"
        ).fetchone()
    assert token.startswith("lb1.2.") and version == "2"
    # the old key is refused now, the new one works and decrypts the password
    await refused(settings)
    rotated = api_settings(tmp_path, nats_url, ENCRYPTION_KEY=NEW_KEY)
    async with serve_api(rotated) as api:
        from lifeboat.api.domain.databases.service import password_context

        assert api.ctx.box.decrypt(token, context=password_context(db["id"])) == "R0tate-me!"
        assert api.ctx.box.version == 2
    # rotating with a wrong "old" key changes nothing
    with pytest.raises(ConfigurationError):
        rotate_key(
            settings.database_path, TEST_ENCRYPTION_KEY, "yet-another-key-0123456789abcdef0123"
        )


async def test_rotation_while_the_api_runs(tmp_path: Path, nats_url: str) -> None:
    async with serve_api(api_settings(tmp_path, nats_url)) as api:
        data_of(
            await api.client.post(
                "/api/databases", json=database_body("before", "default", password="Old-key-pw")
            ),
            201,
        )
        result = await asyncio.to_thread(
            rotate_key, api.settings.database_path, TEST_ENCRYPTION_KEY, NEW_KEY
        )
        assert result.secrets == 1 and result.version == 2

        attempts = iter(range(1000))

        async def stopped_using_the_old_key() -> bool:
            body = database_body(f"after-{next(attempts)}", "default", password="New-pw-123")
            response = await api.client.post("/api/databases", json=body)
            return response.status_code == 503

        await eventually(stopped_using_the_old_key, timeout=10, interval=0.3)
