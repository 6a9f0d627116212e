"""HTTP handlers of /api/databases (SPEC §6.1.1)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from lifeboat.api.auth.audit import audit
from lifeboat.api.context import Ctx
from lifeboat.api.domain.common import EngineName
from lifeboat.api.domain.databases import service
from lifeboat.api.domain.databases.schemas import (
    ConnectionTestOut,
    DatabaseCreate,
    DatabaseOut,
    DatabaseUpdate,
    DiscoverOut,
)
from lifeboat.api.envelope import Envelope, ok


class DatabaseController(Controller):
    """Database configurations."""

    path = "/api/databases"
    tags = ["databases"]

    @get("/", summary="List database configurations", opt={"permission": "database.view"})
    async def list_databases(
        self,
        ctx: Ctx,
        type: Annotated[EngineName | None, QueryParameter(name="type")] = None,
        enabled: Annotated[bool | None, QueryParameter(name="enabled")] = None,
    ) -> Envelope[list[DatabaseOut]]:
        """Every configuration, optionally filtered by type and enabled flag."""
        return ok(await service.list_databases(ctx, engine=type, enabled=enabled))

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a database configuration",
        opt={"permission": "database.manage"},
    )
    async def create_database(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[DatabaseCreate]
    ) -> Envelope[DatabaseOut]:
        """Validate, test the connection through an executor (unless skipped), and save."""
        created = await service.create_database(ctx, data)
        await audit(ctx, request, "database.create", created.id, msgspec.to_builtins(data))
        return ok(created)

    @post(
        "/discover",
        status_code=HTTP_200_OK,
        summary="Discover databases",
        opt={"permission": "database.manage"},
    )
    async def discover(self) -> Envelope[DiscoverOut]:
        """Auto-discovery in the Docker network (not configured yet)."""
        return ok(service.discover())

    @get(
        "/{config_id:str}",
        summary="Get a database configuration",
        opt={"permission": "database.view"},
    )
    async def get_database(self, ctx: Ctx, config_id: FromPath[str]) -> Envelope[DatabaseOut]:
        """One configuration."""
        return ok(await service.get_database(ctx, config_id))

    @put(
        "/{config_id:str}",
        summary="Update a database configuration",
        opt={"permission": "database.manage"},
    )
    async def update_database(
        self,
        ctx: Ctx,
        request: Request[Any, Any, Any],
        config_id: FromPath[str],
        data: JSONBody[DatabaseUpdate],
    ) -> Envelope[DatabaseOut]:
        """Partial update; the password may be omitted to keep it."""
        updated = await service.update_database(ctx, config_id, data)
        changed = msgspec.to_builtins(data)
        await audit(ctx, request, "database.update", config_id, {"changed": changed})
        return ok(updated)

    @delete(
        "/{config_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a database configuration",
        opt={"permission": "database.manage"},
    )
    async def delete_database(
        self, ctx: Ctx, request: Request[Any, Any, Any], config_id: FromPath[str]
    ) -> Envelope[None]:
        """Delete it with its schedules and execution records."""
        await service.delete_database(ctx, config_id)
        await audit(ctx, request, "database.delete", config_id)
        return ok(None)

    @post(
        "/{config_id:str}/test-connection",
        status_code=HTTP_200_OK,
        summary="Test a database connection",
        opt={"permission": "database.manage"},
    )
    async def test_connection(
        self, ctx: Ctx, config_id: FromPath[str]
    ) -> Envelope[ConnectionTestOut]:
        """Ask an executor of the database's queue to connect and report."""
        return ok(await service.check_connection(ctx, config_id))
