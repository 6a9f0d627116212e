"""The SPEC §6.2 error envelope for every kind of failure, and the API without NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lifeboat.api.domain.system import service as system_service
from tests.support.api import (
    RunningApi,
    api_settings,
    data_of,
    database_body,
    error_of,
    serve_api,
)
from tests.support.natsd import free_port


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[RunningApi]:
    async with serve_api(api_settings(tmp_path_factory.mktemp("api-errors"), nats_url)) as running:
        yield running


async def test_malformed_json(api: RunningApi) -> None:
    response = await api.client.post(
        "/api/databases", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    error_of(response, 400, "VALIDATION_ERROR")


async def test_unknown_field_is_refused(api: RunningApi) -> None:
    body = {**database_body("x", "default"), "isAdmin": True}
    error = error_of(await api.client.post("/api/databases", json=body), 400, "VALIDATION_ERROR")
    assert "isAdmin" in error["message"]
    assert error["details"][0]["source"] == "body"


async def test_bad_enum_in_body(api: RunningApi) -> None:
    error = error_of(
        await api.client.post("/api/databases", json=database_body("x", "default", type="mssql")),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"] == [
        {"field": "type", "message": "Invalid enum value 'mssql'", "source": "body"}
    ]


async def test_wrong_type_in_body(api: RunningApi) -> None:
    error = error_of(
        await api.client.post("/api/databases", json=database_body("x", "default", port="five")),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"][0]["field"] == "port"


async def test_body_must_be_an_object(api: RunningApi) -> None:
    error_of(await api.client.post("/api/backups", json=[1, 2]), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"status": "exploded"}, "status"),
        ({"type": "yearly"}, "type"),
        ({"startDate": "yesterday"}, "startDate"),
    ],
)
async def test_bad_query_parameters(api: RunningApi, params: dict[str, str], field: str) -> None:
    error = error_of(await api.client.get("/api/backups", params=params), 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == field, error
    assert error["details"][0]["source"] == "query"


async def test_start_after_end(api: RunningApi) -> None:
    params = {"startDate": "2024-02-01T00:00:00Z", "endDate": "2024-01-01T00:00:00Z"}
    error_of(await api.client.get("/api/backups", params=params), 400, "VALIDATION_ERROR")


async def test_bad_log_level(api: RunningApi) -> None:
    error_of(await api.client.get("/api/backups/x/logs?level=loud"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "path",
    ["/api/databases/nope", "/api/backups/nope", "/api/backups/nope/logs", "/api/restores/nope"],
)
async def test_unknown_ids(api: RunningApi, path: str) -> None:
    error = error_of(await api.client.get(path), 404, "NOT_FOUND")
    assert "nope" in error["message"]


async def test_unknown_route(api: RunningApi) -> None:
    error_of(await api.client.get("/api/does-not-exist"), 404, "NOT_FOUND")
    error_of(await api.client.post("/api/does-not-exist", json={}), 404, "NOT_FOUND")


async def test_method_not_allowed(api: RunningApi) -> None:
    response = await api.client.patch("/api/databases", json={})
    error_of(response, 405, "METHOD_NOT_ALLOWED")


async def test_conflict(api: RunningApi) -> None:
    name = f"c-{uuid.uuid4().hex[:8]}"
    data_of(await api.client.post("/api/databases", json=database_body(name, "default")), 201)
    error = error_of(
        await api.client.post("/api/databases", json=database_body(name, "default")),
        409,
        "CONFLICT",
    )
    assert name in error["message"]


async def test_unexpected_error_is_generic(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(ctx: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(system_service, "stats", boom)
    response = await api.client.get("/api/system/stats")
    error = error_of(response, 500, "INTERNAL_ERROR")
    assert error["message"] == "internal server error"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


async def test_openapi_schema(api: RunningApi) -> None:
    response = await api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/api/databases",
        "/api/databases/{config_id}",
        "/api/databases/{config_id}/test-connection",
        "/api/databases/discover",
        "/api/backups",
        "/api/backups/{backup_id}",
        "/api/backups/{backup_id}/download",
        "/api/backups/{backup_id}/logs",
        "/api/restores",
        "/api/system/status",
        "/api/health/ready",
    ]:
        assert path in paths, path
    list_params = {p["name"] for p in paths["/api/backups"]["get"]["parameters"]}
    assert {"databaseId", "status", "type", "startDate", "endDate", "page", "limit"} <= list_params
    create = paths["/api/databases"]["post"]
    assert "requestBody" in create
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert "databaseName" in body_schema["properties"]
    assert "skipConnectionTest" in body_schema["properties"]


async def test_api_runs_without_nats(tmp_path_factory: pytest.TempPathFactory) -> None:
    dead = f"nats://127.0.0.1:{free_port()}"
    settings = api_settings(tmp_path_factory.mktemp("api-no-nats"), dead)
    async with serve_api(settings, wait_for_nats=False) as api:
        assert data_of(await api.client.get("/api/health/live"))["status"] == "ok"
        error = error_of(await api.client.get("/api/health/ready"), 503, "SERVICE_UNAVAILABLE")
        assert error["details"]["nats"]["ok"] is False
        assert error["details"]["database"]["ok"] is True

        db = data_of(
            await api.client.post("/api/databases", json=database_body("offline", "default")),
            201,
        )
        error_of(
            await api.client.post(
                "/api/databases",
                json=database_body("probed", "default", skipConnectionTest=False),
            ),
            503,
            "SERVICE_UNAVAILABLE",
        )
        error = error_of(
            await api.client.post("/api/backups", json={"databaseId": db["id"]}),
            503,
            "SERVICE_UNAVAILABLE",
        )
        execution_id = error["details"]["executionId"]
        record = data_of(await api.client.get(f"/api/backups/{execution_id}"))
        assert record["status"] == "failed"
        assert "NATS" in record["errorMessage"]
        # The failed attempt does not block the next one.
        error_of(
            await api.client.post("/api/backups", json={"databaseId": db["id"]}),
            503,
            "SERVICE_UNAVAILABLE",
        )
