"""JSON API v1: bearer-token authentication and one error shape for every failure.

Errors are ``{"error": {"code", "message", "fields": {name: message}}}`` with 400
(malformed request), 401 (no or bad token), 403, 404, 409 (conflicts with the current
state) or 422 (a field breaks a rule). A failed request changes nothing: the request's
session is only committed by a view that finished its work.
"""

from __future__ import annotations

import flask_smorest
from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from forms_service import db
from registry import accounts
from registry.errors import DomainError

bp = flask_smorest.Blueprint("api", __name__, url_prefix="/api", description="forms-service API v1")
"""flask-smorest's Blueprint (a Flask Blueprint): its routes are documented from their schemas."""

# Endpoints that need no token; modules add theirs (e.g. signature verification).
PUBLIC_ENDPOINTS: set[str] = {"api.openapi", "api.docs", "api.docs_asset"}


class Api(flask_smorest.Api):
    """flask-smorest's Api without its own error handler: :func:`http_error` keeps the
    API's error contract, and the document is served by :mod:`forms_service.api.docs`."""

    def _register_error_handlers(self):
        """Nothing: the blueprint's handlers answer in the API's one error shape."""


def init_app(app) -> None:
    """Register the API blueprint through flask-smorest so every route lands in the document."""
    from forms_service.security import MAX_ID, IdConverter

    app.config.setdefault("API_TITLE", "forms-service API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", None)  # served by docs.py, with our headers
    api = Api(app)  # one per app (tests build many); docs.py finds it in app.extensions
    api.register_converter(IdConverter, lambda _c: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    api.register_blueprint(bp)


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """The one JSON error shape of the API."""
    return jsonify({"error": {"code": code, "message": message, "fields": fields or {}}}), status


@bp.before_request
def authenticate():
    """Require ``Authorization: Bearer <token>`` on every API call except public ones."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    use = accounts.token_use(db.session(), token.strip()) if scheme.lower() == "bearer" else None
    if use is None:
        return error_response(401, "unauthorized",
                              _("Geef een geldig API-token mee (Authorization: Bearer <token>)."))
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
    fields = schema.rejected_fields(exc)
    if fields is not None:  # the schema layer refused the body (422) or the query string (400)
        code = "validation_error" if exc.code == 422 else "bad_request"
        return error_response(exc.code, code, _("Controleer de velden."), fields)
    response, status = error_response(exc.code or 500, exc.name.lower().replace(" ", "_"), _http_error_text(exc))
    if status == 405:  # RFC 9110: a 405 names the methods the resource has
        response.headers["Allow"] = ", ".join(getattr(exc, "valid_methods", None) or [])
    return response, status


API_HTTP_ERROR_TEXTS = {
    400: _l("Dit verzoek kon niet worden verwerkt."),
    404: _l("Dit adres bestaat niet in de API."),
    405: _l("Deze methode is op dit adres niet toegestaan; de header Allow noemt de methoden die het wel kent."),
    413: _l("Het verzoek is te groot."),
    415: _l("Dit type inhoud wordt hier niet aangenomen; stuur JSON."),
    500: _l("Er is bij ons een fout opgetreden. Probeer het later opnieuw."),
}
"""The message of an HTTP error under /api/ in the client's language (Dutch by default)."""


def _http_error_text(exc: HTTPException) -> str:
    """What an API error says: a description our own code passed to ``abort(code, "…")``,
    else our text for the status in the client's language (Werkzeug's is English)."""
    from forms_service.web import own_description

    text = own_description(exc) or API_HTTP_ERROR_TEXTS.get(exc.code or 500)
    return str(text) if text is not None else exc.name


from forms_service.api import schema  # noqa: E402
from forms_service.api import docs, registry_api  # noqa: E402,F401  (routes register on bp)
from forms_service.api import documents_api  # noqa: E402,F401
from forms_service.api import meetings_api  # noqa: E402,F401
from forms_service.api import signing_api  # noqa: E402,F401
from forms_service.api import access_api  # noqa: E402,F401
from forms_service.api import users_api  # noqa: E402,F401
from forms_service.api import packs_api  # noqa: E402,F401
from forms_service.api import cases_api  # noqa: E402,F401
from forms_service.api import subject_requests_api  # noqa: E402,F401
from forms_service.api import export_api  # noqa: E402,F401
from forms_service.api import actions_api  # noqa: E402,F401
from forms_service.api import webhooks_api  # noqa: E402,F401
from forms_service.api import dashboard_api  # noqa: E402,F401
from forms_service.api import amendments_api  # noqa: E402,F401
