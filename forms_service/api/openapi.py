"""``GET /api/openapi.json``: an OpenAPI 3.1 description of every API route.

Each API module keeps its own ``PATHS`` fragment next to its routes; this module merges
them. A test checks that every ``/api/v1`` route of the app is described here.
"""

from __future__ import annotations

DATE = {"type": "string", "format": "date", "example": "2026-01-15"}
ID = {"type": "integer", "minimum": 1}
REASON = {"$ref": "#/components/schemas/Reason"}


def body(properties: dict, required: list[str]) -> dict:
    """A JSON request body with these properties."""
    return {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "properties": properties, "required": required}}},
    }


def answer(status: str, description: str, schema: dict | None = None) -> dict:
    """One response, with the common error responses added."""
    ok = {"description": description}
    if schema is not None:
        ok["content"] = {"application/json": {"schema": schema}}
    errors = {code: {"$ref": f"#/components/responses/{name}"} for code, name in ERRORS.items()}
    return {status: ok, **errors}


def path_id(name: str) -> dict:
    """An integer path parameter."""
    return {"name": name, "in": "path", "required": True, "schema": ID}


def query(name: str, schema: dict, required: bool = False) -> dict:
    """A query parameter."""
    return {"name": name, "in": "query", "required": required, "schema": schema}


ERRORS = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "409": "Conflict",
          "422": "Invalid"}
"""Common error answers; 403 carries the code ``forbidden`` (the role or scope does not
cover it) or ``not_entitled`` (resident data, and the account's person is not entitled
at the table today)."""

OBJ = {"type": "object"}

# Other API modules register their fragments here when they are imported.
FRAGMENTS: list[dict] = []

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "object", "additionalProperties": {"type": "string"}}}, "required": ["code", "message", "fields"]}},
}

COMPONENTS = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
        "Error": ERROR_SCHEMA,
        "Reason": {"type": "object", "properties": {"code": {"type": "string"}, "text": {"type": "string"}}, "required": ["code", "text"]},
        "Organisation": {"type": "object", "properties": {"id": ID, "name": {"type": "string"}}},
        "Table": {"type": "object", "properties": {"id": ID, "name": {"type": "string"}, "area": {"type": "string"}, "covenant_id": ID}},
        "Decision": {"type": "object", "properties": {"allowed": {"type": "boolean"}, "basis": {"enum": ["structural", "incidental", None]}, "reasons": {"type": "array", "items": REASON}, "warnings": {"type": "array", "items": REASON}}, "required": ["allowed", "basis", "reasons"]},
        "Entitlement": {"type": "object", "properties": {
            "table_id": ID, "on": DATE, "case": {"type": ["string", "null"]},
            "organisations": {"type": "array", "items": {"type": "object", "properties": {"id": ID, "name": {"type": "string"}, "reasons": {"type": "array", "items": REASON}}}},
            "people": {"type": "array", "items": {"type": "object", "properties": {"id": ID, "name": {"type": "string"}, "organisation_id": ID, "basis": {"enum": ["structural", "incidental"]}, "reasons": {"type": "array", "items": REASON}}}},
        }},
    },
    "responses": {
        name: {"description": name, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for name in ERRORS.values()
    },
}


def merged() -> dict:
    """The hand-written paths of the modules not yet described by schemas."""
    paths: dict = {}
    for fragment in FRAGMENTS:
        for path, operations in fragment.items():
            paths.setdefault(path, {}).update(operations)
    return paths
