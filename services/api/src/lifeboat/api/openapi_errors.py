"""Document the error envelope in the OpenAPI schema.

Litestar documents validation errors with its own ``{status_code, detail}`` shape; our handlers
answer every error with the SPEC §6.2 envelope. This rewrites every documented 4xx response to the
envelope and documents 401/403 on every protected operation and 429 on sign-in.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType

ERROR_SCHEMA = "ErrorEnvelope"


def _error_envelope() -> Schema:
    string = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["success", "error", "meta"],
        properties={
            "success": Schema(type=OpenAPIType.BOOLEAN, const=False),
            "error": Schema(
                type=OpenAPIType.OBJECT,
                required=["code", "message"],
                properties={"code": string, "message": string, "details": Schema()},
            ),
            "meta": Schema(
                type=OpenAPIType.OBJECT,
                required=["timestamp"],
                properties={"timestamp": string},
            ),
        },
    )


def _response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={
            "application/json": OpenAPIMediaType(
                schema=Reference(f"#/components/schemas/{ERROR_SCHEMA}")
            )
        },
    )


_DESCRIPTIONS = {
    "400": "Invalid request (VALIDATION_ERROR)",
    "401": "Not signed in (UNAUTHORIZED, or SETUP_REQUIRED before the first admin exists)",
    "403": "The role lacks the permission, or the CSRF token is missing (FORBIDDEN, CSRF_FAILED)",
    "404": "No such resource (NOT_FOUND)",
    "409": "Conflict (CONFLICT)",
    "429": "Too many failed sign-ins (TOO_MANY_REQUESTS)",
}


def document_errors(app: Litestar) -> None:
    """Rewrite the app's (cached) OpenAPI object in place."""
    openapi = app.openapi_schema
    components = openapi.components or Components()
    schemas = dict(components.schemas or {})
    schemas[ERROR_SCHEMA] = _error_envelope()
    components.schemas = schemas
    openapi.components = components
    opts: dict[tuple[str, str], dict[str, object]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                opts[(route.path_format or "/", str(method).lower())] = dict(handler.opt)
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            for status in list(responses):
                if status.startswith("4"):
                    responses[status] = _response(_DESCRIPTIONS.get(status, "Client error"))
            opt = opts.get((path, method), {})
            extra = ["400", "404"] if "{" in path else []
            if not opt.get("public"):
                extra += ["401", "403"]
            if path == "/api/auth/login":
                extra += ["401", "429"]
            for status in extra:
                responses.setdefault(status, _response(_DESCRIPTIONS[status]))
            operation.responses = responses
