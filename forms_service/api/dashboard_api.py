"""API v1: ``GET /api/v1/dashboard`` — what waits for the token's account today, the same
lines as the start page (:func:`registry.dashboard.dashboard`); URLs lead to the staff
pages where each item is resolved."""

from __future__ import annotations

from flask import jsonify

from forms_service import access
from forms_service.api import bp, openapi
from forms_service.api.openapi import answer
from forms_service.web import dashboard_lines
from registry import dashboard, rules


@bp.get("/v1/dashboard")
def get_dashboard():
    """The dashboard's lines as JSON; an account without grants gets no lines."""
    access.acting_user()
    return jsonify(dashboard.as_json(dashboard_lines(), rules.today()))


PATHS = {
    "/api/v1/dashboard": {"get": {
        "summary": "What waits for this account today: the start page's lines (only lines with something waiting)",
        "responses": answer("200", "The dashboard", {"$ref": "#/components/schemas/Dashboard"})}},
}
openapi.FRAGMENTS.append(PATHS)
