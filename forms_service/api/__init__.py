"""JSON API v1: bearer-token authentication and one error shape for every failure.

Errors are ``{"error": {"code", "message", "fields": {name: message}}}`` with 400
(malformed request), 401 (no or bad token), 403, 404, 409 (conflicts with the current
state) or 422 (a field breaks a rule). A failed request changes nothing: the request's
session is only committed by a view that finished its work.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from forms_service import db
from registry import accounts
from registry.errors import DomainError

bp = Blueprint("api", __name__, url_prefix="/api")

# Endpoints that need no token; modules add theirs (e.g. signature verification).
PUBLIC_ENDPOINTS: set[str] = {"api.openapi"}


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """The one JSON error shape of the API."""
    return jsonify({"error": {"code": code, "message": message, "fields": fields or {}}}), status


@bp.before_request
def authenticate():
    """Require ``Authorization: Bearer <token>`` on every API call except public ones."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    use = accounts.token_use(db.session(), token.strip()) if scheme.lower() == "bearer" else None
    if use is None:
        return error_response(401, "unauthorized", "Geef een geldig API-token mee (Authorization: Bearer <token>).")
    g.api_user, g.api_token_id = use.user, use.token_id
    if use.touch:  # last_used_at at most once a minute, in its own short transaction
        with current_app.extensions["db_sessions"]() as touch:
            accounts.touch_token(touch, use.token_id)
            touch.commit()
    return None


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    """Map a registry error to its status, rolling back whatever the request did."""
    db.session().rollback()
    return error_response(exc.status, exc.code, exc.message, exc.fields)


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """404/405/413 etc. under /api/ in the API's JSON shape; elsewhere our own page in the
    page's language (:func:`forms_service.web.http_error_page`).

    App-wide because an unknown /api/ path matches no route of this blueprint.
    """
    if not request.path.startswith("/api/"):
        from forms_service.web import http_error_page

        return http_error_page(exc)
    db.session().rollback()
    return error_response(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)


from forms_service.api import openapi, registry_api  # noqa: E402,F401  (routes register on bp)
from forms_service.api import documents_api  # noqa: E402,F401
from forms_service.api import meetings_api  # noqa: E402,F401
from forms_service.api import signing_api  # noqa: E402,F401
from forms_service.api import access_api  # noqa: E402,F401
from forms_service.api import users_api  # noqa: E402,F401
from forms_service.api import packs_api  # noqa: E402,F401
from forms_service.api import cases_api  # noqa: E402,F401
from forms_service.api import subject_requests_api  # noqa: E402,F401
from forms_service.api import partners_api  # noqa: E402,F401
from forms_service.api import export_api  # noqa: E402,F401
from forms_service.api import actions_api  # noqa: E402,F401
from forms_service.api import webhooks_api  # noqa: E402,F401
from forms_service.api import dashboard_api  # noqa: E402,F401
from forms_service.api import amendments_api  # noqa: E402,F401
