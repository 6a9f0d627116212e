"""Restoring an uploaded file (POST /api/restores/upload) and the safety backup a restore may
take of its target first. Real processes (scripts.devstack), real PostgreSQL.

* a Lifeboat artifact uploaded (with or without its manifest) is verified by its recorded
  sha256 and restored identically; a manifest written for any other file trusts nothing;
* a hand-made ``pg_dump -Fc | zstd`` without manifest needs an admin's confirmation and is
  restored as unverified;
* a tampered file with its manifest is refused before the target is touched;
* a file over MAX_UPLOAD_BYTES gets 413; no uploaded file is ever left behind;
* ``safetyBackup``: a ``pre-restore`` backup of the target, equal to its state before the
  restore (restored into a third database and compared); when it fails the target is untouched.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from lifeboat.core.naming import manifest_name
from scripts.devstack import Stack
from tests.e2e.conftest import sign_in_and_make_token
from tests.e2e.test_s3_roundtrip import pg_db
from tests.e2e.test_system_roundtrip import ok, wait_done
from tests.support.dbs import (
    PG_HOST,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    ScratchDb,
    drop_pg,
    pg_connect,
    scratch_pg,
)
from tests.support.richdb import build_rich_pg, pg_fingerprint

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_UPLOAD = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """The module's stack has a small MAX_UPLOAD_BYTES."""
    return {"MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}


@dataclass(frozen=True)
class Source:
    """A rich database, a completed local backup of it, its file and manifest."""

    db: ScratchDb
    config: dict[str, Any]
    backup: dict[str, Any]
    artifact: bytes
    manifest: bytes


@pytest.fixture(scope="module")
def source(api: httpx.Client, stack: Stack) -> Iterator[Source]:
    with scratch_pg("lbup_src") as src:
        build_rich_pg(src.name)
        config = pg_db(api, src)
        backup = ok(api.post("/api/backups", json={"databaseId": config["id"]}), 202)
        backup = wait_done(api, f"/api/backups/{backup['id']}")
        assert backup["status"] == "completed", backup.get("errorMessage")
        download = api.get(f"/api/backups/{backup['id']}/download")
        assert download.status_code == 200
        local = storage(stack) / backup["localPath"]
        manifest = local.with_name(manifest_name(local.name)).read_bytes()
        yield Source(src, config, backup, download.content, manifest)


def storage(stack: Stack) -> Path:
    return stack.data_dir / "backups"


def leftover_uploads(stack: Stack) -> list[str]:
    directory = storage(stack) / ".uploads"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def upload(
    client: httpx.Client,
    database_id: str,
    data: bytes,
    *,
    manifest: bytes | None = None,
    options: str | None = '{"dropAndRecreate": true}',
    filename: str = "upload.dump.zst",
    **fields: str,
) -> httpx.Response:
    form = {"databaseId": database_id, **fields}
    if options is not None:
        form["options"] = options
    files: dict[str, tuple[str, bytes, str]] = {
        "file": (filename, data, "application/octet-stream")
    }
    if manifest is not None:
        files["manifest"] = ("manifest.json", manifest, "application/json")
    return client.post("/api/restores/upload", data=form, files=files, timeout=120)


def error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body = resp.json()
    assert resp.status_code == status, body
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]


def hand_made_dump(dbname: str) -> bytes:
    dump = subprocess.run(
        ["pg_dump", "-Fc", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, dbname],
        env={**os.environ, "PGPASSWORD": PG_PASSWORD},
        capture_output=True,
        check=True,
    ).stdout
    return subprocess.run(["zstd", "-q", "-c"], input=dump, capture_output=True, check=True).stdout


def restores_into(api: httpx.Client, database_id: str) -> list[dict[str, Any]]:
    return ok(api.get("/api/restores", params={"databaseId": database_id}))


@pytest.mark.parametrize("with_manifest", [True, False], ids=["with-manifest", "file-only"])
def test_a_recorded_backup_uploaded_is_verified_and_identical(
    api: httpx.Client, stack: Stack, source: Source, with_manifest: bool
) -> None:
    """A file this install recorded is trusted by its sha256, manifest or not."""
    manifest = source.manifest if with_manifest else None
    with scratch_pg("lbup_dst") as dst:
        target = pg_db(api, dst)
        restore = ok(upload(api, target["id"], source.artifact, manifest=manifest), 202)
        assert restore["sourceType"] == "upload"
        assert restore["sourcePath"].startswith(".uploads/")
        assert restore["backupExecutionId"] == source.backup["id"]  # this install made it
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "completed", restore.get("errorMessage")
        assert pg_fingerprint(dst.name) == pg_fingerprint(source.db.name)
    logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
    assert any("Checksum verified" in line["message"] for line in logs)
    assert not any(line["logLevel"] in ("warn", "error") for line in logs)
    assert leftover_uploads(stack) == []


def test_upload_without_manifest_needs_an_admin(
    api: httpx.Client, stack: Stack, source: Source
) -> None:
    packed = hand_made_dump(source.db.name)
    operator = sign_in_and_make_token(stack.api_url, role="operator")
    with scratch_pg("lbup_unv") as dst:
        target = pg_db(api, dst)
        err = error(upload(api, target["id"], packed), 400, "VALIDATION_ERROR")
        assert err["details"][0]["field"] == "confirmUnverified"
        assert "not a backup this install recorded" in err["message"]
        # A manifest written for the file proves nothing about where it came from.
        forged = msgspec.json.encode(
            {
                **msgspec.json.decode(source.manifest),
                "sha256": hashlib.sha256(packed).hexdigest(),
                "sizeBytes": len(packed),
            }
        )
        err = error(upload(api, target["id"], packed, manifest=forged), 400, "VALIDATION_ERROR")
        assert err["details"][0]["field"] == "confirmUnverified", err
        with httpx.Client(
            base_url=stack.api_url, timeout=60, headers={"Authorization": f"Bearer {operator}"}
        ) as as_operator:
            denied = upload(as_operator, target["id"], packed, confirmUnverified="true")
            error(denied, 403, "FORBIDDEN")
        err = error(
            upload(api, target["id"], packed, confirmUnverified="true", compression="gzip"),
            400,
            "VALIDATION_ERROR",
        )
        assert err["details"][0]["field"] == "compression"  # the bytes are zstd
        assert restores_into(api, target["id"]) == []
        assert leftover_uploads(stack) == []

        # No suffix to read: the compression comes from the bytes, the engine from the target.
        restore = ok(
            upload(api, target["id"], packed, confirmUnverified="true", filename="dump"), 202
        )
        assert restore["sourceType"] == "upload" and restore["backupExecutionId"] is None
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "completed", restore.get("errorMessage")
        assert pg_fingerprint(dst.name) == pg_fingerprint(source.db.name)
    warnings = ok(api.get(f"/api/restores/{restore['id']}/logs", params={"level": "warn"}))
    assert any("No checksum was verified" in line["message"] for line in warnings)
    logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
    assert not any("Checksum verified" in line["message"] for line in logs)
    assert any("decompresses to" in line["message"] for line in logs)
    assert leftover_uploads(stack) == []


def test_a_tampered_upload_is_refused_before_the_target_is_touched(
    api: httpx.Client, stack: Stack, source: Source
) -> None:
    artifact = source.artifact
    middle = len(artifact) // 2
    flipped = artifact[:middle] + bytes([artifact[middle] ^ 0xFF]) + artifact[middle + 1 :]
    with scratch_pg("lbup_tmp") as dst:
        with pg_connect(dst.name) as conn:
            conn.execute("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (42)")
        before = pg_fingerprint(dst.name)
        target = pg_db(api, dst)
        err = error(
            upload(api, target["id"], flipped, manifest=source.manifest), 400, "VALIDATION_ERROR"
        )
        assert "checksum mismatch" in err["message"] and err["details"][0]["field"] == "file"
        err = error(
            upload(api, target["id"], artifact[:-1], manifest=source.manifest),
            400,
            "VALIDATION_ERROR",
        )
        assert "manifest says" in err["message"]
        err = error(upload(api, target["id"], artifact, manifest=b"{}"), 400, "VALIDATION_ERROR")
        assert err["details"][0]["field"] == "manifest"
        assert pg_fingerprint(dst.name) == before
        assert restores_into(api, target["id"]) == []
    assert leftover_uploads(stack) == []


def test_bad_forms_and_oversized_uploads(api: httpx.Client, stack: Stack, source: Source) -> None:
    with scratch_pg("lbup_bad") as dst:
        target = pg_db(api, dst)
        too_big = os.urandom(MAX_UPLOAD + 1)
        err = error(upload(api, target["id"], too_big), 413, "PAYLOAD_TOO_LARGE")
        assert err["details"]["maxUploadBytes"] == MAX_UPLOAD
        # Announced far over the limit: refused before reading.
        huge = upload(api, target["id"], too_big + os.urandom(5 * 1024 * 1024))
        error(huge, 413, "PAYLOAD_TOO_LARGE")

        error(upload(api, "no-such-database", source.artifact), 404, "NOT_FOUND")
        for fields, where in (
            ({"options": "{not json"}, "options"),
            ({"options": '{"schemaOnly": true, "dataOnly": true}'}, "options.schemaOnly"),
            ({"options": '{"nope": 1}'}, "options"),
            ({"engine": "oracle"}, "engine"),
            ({"confirmUnverified": "maybe"}, "confirmUnverified"),
            ({"surprise": "x"}, "surprise"),
        ):
            body = {"databaseId": target["id"], **fields}
            resp = api.post(
                "/api/restores/upload",
                data=body,
                files={"file": ("x.dump.zst", source.artifact, "application/octet-stream")},
            )
            err = error(resp, 400, "VALIDATION_ERROR")
            assert err["details"][0]["field"] == where, (fields, err)
        no_file = api.post(
            "/api/restores/upload",
            data={"databaseId": target["id"]},
            files={"manifest": ("m.json", source.manifest, "application/json")},
        )
        assert error(no_file, 400, "VALIDATION_ERROR")["details"][0]["field"] == "file"
        error(
            api.post("/api/restores/upload", json={"databaseId": target["id"]}),
            400,
            "VALIDATION_ERROR",
        )
        truncated = api.post(
            "/api/restores/upload",
            content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\nab',
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        error(truncated, 400, "VALIDATION_ERROR")
        mysql = upload(api, target["id"], source.artifact, manifest=source.manifest, engine="mysql")
        assert error(mysql, 400, "VALIDATION_ERROR")["details"][0]["field"] == "engine"
        assert restores_into(api, target["id"]) == []
    assert leftover_uploads(stack) == []


def test_safety_backup_holds_the_target_as_it_was(
    api: httpx.Client, stack: Stack, source: Source
) -> None:
    with scratch_pg("lbup_safe") as dst, scratch_pg("lbup_check") as check:
        with pg_connect(dst.name) as conn:
            conn.execute(
                "CREATE TABLE precious (id int PRIMARY KEY, note text);"
                " INSERT INTO precious SELECT g, md5(g::text) FROM generate_series(1, 500) g"
            )
        before = pg_fingerprint(dst.name)
        target = pg_db(api, dst)
        restore = ok(
            api.post(
                "/api/restores",
                json={
                    "databaseId": target["id"],
                    "backupId": source.backup["id"],
                    "options": {"dropAndRecreate": True, "safetyBackup": True},
                },
            ),
            202,
        )
        safety_id = restore["safetyBackupId"]
        assert safety_id and restore["restoreOptions"]["safetyBackup"] is True
        restore = wait_done(api, f"/api/restores/{restore['id']}")
        assert restore["status"] == "completed", restore.get("errorMessage")
        assert pg_fingerprint(dst.name) == pg_fingerprint(source.db.name)

        safety = ok(api.get(f"/api/backups/{safety_id}"))
        assert safety["status"] == "completed" and safety["backupType"] == "pre-restore"
        assert safety["databaseConfigId"] == target["id"] and safety["localStatus"] == "completed"
        assert safety["fileName"].endswith(".dump.zst") and "pre-restore" in safety["fileName"]
        listed = ok(
            api.get("/api/backups", params={"databaseId": target["id"], "type": "pre-restore"})
        )
        assert [b["id"] for b in listed] == [safety_id]
        logs = ok(api.get(f"/api/restores/{restore['id']}/logs"))
        assert any(safety_id in line["message"] and "completed" in line["message"] for line in logs)

        # The safety backup holds the target as it was before the restore.
        check_db = pg_db(api, check)
        back = ok(
            api.post(
                "/api/restores",
                json={
                    "databaseId": check_db["id"],
                    "backupId": safety_id,
                    "options": {"dropAndRecreate": True},
                },
            ),
            202,
        )
        back = wait_done(api, f"/api/restores/{back['id']}")
        assert back["status"] == "completed", back.get("errorMessage")
        assert pg_fingerprint(check.name) == before


def test_a_failed_safety_backup_fails_the_restore_untouched(
    api: httpx.Client, stack: Stack, source: Source
) -> None:
    # The target database is gone: the safety backup fails, and dropAndRecreate (which would
    # create it) must never run.
    with scratch_pg("lbup_missing") as gone:
        target = pg_db(api, gone)
    missing = gone.name
    restore = ok(
        upload(
            api,
            target["id"],
            source.artifact,
            manifest=source.manifest,
            options='{"dropAndRecreate": true, "safetyBackup": true}',
        ),
        202,
    )
    restore = wait_done(api, f"/api/restores/{restore['id']}")
    assert restore["status"] == "failed"
    assert "safety backup" in restore["errorMessage"] and "not touched" in restore["errorMessage"]
    safety = ok(api.get(f"/api/backups/{restore['safetyBackupId']}"))
    assert safety["status"] == "failed" and safety["backupType"] == "pre-restore"
    try:
        with pg_connect("postgres") as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (missing,)
            ).fetchone()
        assert found is None
    finally:
        drop_pg(missing)
    assert leftover_uploads(stack) == []
