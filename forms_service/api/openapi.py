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

PATHS: dict = {
    "/api/v1/organisations": {"post": {"summary": "Register an organisation", "requestBody": body({"name": {"type": "string"}}, ["name"]), "responses": answer("201", "Created", {"$ref": "#/components/schemas/Organisation"})}},
    "/api/v1/people": {"post": {"summary": "Register a person", "requestBody": body({"name": {"type": "string"}, "initials": {"type": "string"}, "organisation_id": ID, "function": {"type": "string"}, "email": {"type": "string", "format": "email"}, "employed_from": DATE, "employed_until": DATE}, ["name", "initials", "organisation_id", "function", "email"]), "responses": answer("201", "Created", OBJ)}},
    "/api/v1/covenants": {"post": {"summary": "Draft a covenant from a template pack", "requestBody": body({"pack": {"type": "string"}, "title": {"type": "string"}, "region": {"type": "string"}, "municipality": {"type": "string", "description": "default: the pack's when the region is the pack's, else 'gemeente <region>'"}, "areas": {"type": "array", "items": {"type": "string", "maxLength": 200}, "description": "the covenant's areas (art. 1); default: the pack's"}, "chair_model": {"type": ["string", "null"], "description": "one of the pack's chair_models (GET /api/v1/packs); null while drafting"}}, ["pack", "title", "region"]), "responses": answer("201", "Created", OBJ)}},
    "/api/v1/covenants/{covenant_id}/partners": {"post": {"summary": "List a partner; signed_on records a paper signature", "parameters": [path_id("covenant_id")], "requestBody": body({"organisation_id": ID, "representative_id": ID, "signed_on": {**DATE, "description": "paper signing date, not after today (else 422)"}, "mandate": {"type": "string", "description": "signed met mandaat: of whom or what (only for a pack with mandate)"}}, ["organisation_id", "representative_id"]), "responses": answer("201", "Created", OBJ)}},
    "/api/v1/covenants/{covenant_id}/start": {"post": {"summary": "Bring into force with the partners signed so far", "parameters": [path_id("covenant_id")], "requestBody": body({"on": DATE}, []), "responses": answer("200", "Started", OBJ)}},
    "/api/v1/covenants/{covenant_id}/partners/{organisation_id}/notice": {"post": {"summary": "Give notice (the pack's notice months)", "parameters": [path_id("covenant_id"), path_id("organisation_id")], "requestBody": body({"given_on": DATE}, ["given_on"]), "responses": answer("200", "Notice recorded", {"type": "object", "properties": {"ends_on": DATE}})}},
    "/api/v1/covenants/{covenant_id}/partners/{organisation_id}/termination": {"post": {"summary": "Immediate termination by majority decision", "parameters": [path_id("covenant_id"), path_id("organisation_id")], "requestBody": body({"on": DATE, "decision": {"type": "string"}}, ["on", "decision"]), "responses": answer("200", "Terminated", OBJ)}},
    "/api/v1/covenants/{covenant_id}/partners/{organisation_id}/exclusion": {"post": {"summary": "Exclude a partner", "parameters": [path_id("covenant_id"), path_id("organisation_id")], "requestBody": body({"on": DATE, "reason": {"type": "string"}}, ["on", "reason"]), "responses": answer("200", "Excluded", OBJ)}},
    "/api/v1/tables": {
        "post": {"summary": "Open a case table", "requestBody": body({"covenant_id": ID, "name": {"type": "string"}, "area": {"type": "string"}, "chair_id": ID, "coordinator_id": ID, "roles": {"type": "object", "additionalProperties": ID, "description": "holders of the pack's other table roles, e.g. {\"procesregisseur\": 12}"}}, ["covenant_id", "name", "area"]), "responses": answer("201", "Created", OBJ)},
        "get": {"summary": "List case tables", "responses": answer("200", "Tables", {"type": "object", "properties": {"tables": {"type": "array", "items": {"$ref": "#/components/schemas/Table"}}}})},
    },
    "/api/v1/declarations": {"post": {"summary": "Record a Bijlage 1 (structural) or Bijlage 2 (incidental) declaration", "requestBody": body({"kind": {"enum": ["structural", "incidental"]}, "person_id": ID, "table_id": ID, "case_ref": {"type": "string"}, "signed_on": {**DATE, "description": "paper signing date, not after today (else 422); omit to wait for online signing"}}, ["kind", "person_id", "table_id"]), "responses": answer("201", "Created", OBJ)}},
    "/api/v1/declarations/{declaration_id}/revocation": {"post": {"summary": "Revoke a Bijlage 1/2 from a date (coordinators, admins)", "parameters": [path_id("declaration_id")], "requestBody": body({"on": DATE}, ["on"]), "responses": answer("200", "Revoked", OBJ)}},
    "/api/v1/tables/{table_id}/entitled": {"get": {"summary": "Who may join the table on a date (for a case), with reasons", "parameters": [path_id("table_id"), query("on", DATE), query("case", {"type": "string"})], "responses": answer("200", "Entitlement", {"$ref": "#/components/schemas/Entitlement"})}},
    "/api/v1/check": {"get": {"summary": "May a person join a table on a date (for a case)?", "parameters": [query("person", ID, True), query("table", ID, True), query("on", DATE), query("case", {"type": "string"})], "responses": answer("200", "Decision", {"$ref": "#/components/schemas/Decision"})}},
}

# Other API modules register their fragments here when they are imported.
FRAGMENTS: list[dict] = [PATHS]

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
