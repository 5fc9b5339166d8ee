"""``GET /api/openapi.json`` (OpenAPI 3.1, generated from the schemas) and ``GET /api/docs``.

The document is flask-smorest's (apispec over the marshmallow schemas of every route)
with the API's common parts added here once: the bearer scheme, the one error shape
for every 4xx an operation can answer, and the ``Allow`` header of a 405.

``/api/docs`` is Swagger UI, served from the pinned PyPI package ``flask-swagger-ui``
(its ``dist/`` folder: no CDN at run time) and started by ``static/api-docs.js``, so the
page needs no inline script under the service's Content-Security-Policy.
"""

from __future__ import annotations

import os

import flask_swagger_ui
from flask import abort, current_app, jsonify, render_template, send_from_directory

from forms_service.api import bp

SWAGGER_DIST = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
SWAGGER_FILES = {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"}

ERRORS = {
    "400": "Malformed request: body not a JSON object (bad_json), a bad query parameter (bad_request)",
    "401": "No or bad token (unauthorized)",
    "403": "Not allowed: forbidden (the grants do not cover it), not_entitled (resident data), archived",
    "404": "Unknown record (the field that referred to it is named)",
    "409": "Conflicts with the current state (duplicate, already signed, already ended)",
    "410": "Erased by retention or an erasure request (erased)",
    "422": "A field breaks a rule or a shape (validation_error)",
    "429": "Rate limited (rate_limited)",
}
"""Every operation may answer these, in the one error shape."""


def document() -> dict:
    """The whole OpenAPI 3.1 document."""
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    spec["info"]["description"] = "Casustafel covenant paperwork and registry."
    spec.pop("tags", None)
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "fields"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = components.setdefault("responses", {})
    for status, description in ERRORS.items():
        responses[f"E{status}"] = {"description": description, "content": error}
    responses["E405"] = {"description": "Method not allowed", "content": error,
                         "headers": {"Allow": {"schema": {"type": "string"}, "description": "the path's methods"}}}
    spec["security"] = [{"bearer": []}]
    paths = {f"/api{path}" if not path.startswith("/api/") else path: ops for path, ops in spec.get("paths", {}).items()}
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            answers = operation.setdefault("responses", {})
            for status in ERRORS:
                answers.setdefault(status, {"$ref": f"#/components/responses/E{status}"})
            answers.pop("default", None)
    spec["paths"] = paths
    for path in ("/api/openapi.json", "/api/docs", "/api/docs/assets/{name}"):
        for method, operation in spec["paths"].get(path, {}).items():
            if method != "parameters":
                operation["security"] = []
    return spec


@bp.get("/openapi.json")
@bp.doc(summary="This OpenAPI 3.1 document (no token needed)",
        responses={"200": {"description": "The document", "content": {"application/json": {"schema": {"type": "object"}}}}})
def openapi():
    """The API's OpenAPI 3.1 document (no token needed)."""
    return jsonify(document())


@bp.get("/docs")
@bp.doc(summary="Swagger UI for this document (no token needed)",
        responses={"200": {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}})
def docs():
    """Swagger UI over ``/api/openapi.json``."""
    return render_template("api/docs.html")


@bp.get("/docs/assets/<name>")
@bp.doc(summary="Swagger UI's script and style (from the pinned flask-swagger-ui package)",
        responses={"200": {"description": "The file", "content": {"*/*": {"schema": {"type": "string"}}}}})
def docs_asset(name: str):
    """Swagger UI's own files; anything else is 404."""
    if name not in SWAGGER_FILES:
        abort(404)
    return send_from_directory(SWAGGER_DIST, name, max_age=3600)
