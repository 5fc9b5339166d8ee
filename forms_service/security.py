"""The app's own doors: rate limits, security headers, trusted proxies, input hygiene.

Rate limits (Flask-Limiter) are counted per client IP (after ProxyFix, so behind a
proxy the client's) and, where a view adds it, per account. The storage is
``RATELIMIT_STORAGE_URI``: the default ``memory://`` counts per process, which suits
one machine; several app servers point it at a shared store (``redis://...``) so that
they count together. The limits of the public doors come from the configuration:

* ``RATELIMIT_SIGNING`` — POSTs to ``/onderteken/<token>`` and ``.../weigeren``;
* ``RATELIMIT_VERIFY`` — ``POST /verify`` and ``POST /api/v1/verify``;
* ``RATELIMIT_API_BAD_TOKEN`` — API requests with a wrong, unknown or expired token;
  over it, the IP gets 429 before any token is looked at (a good token from that IP
  waits too, until the window passes).

A refusal is a Dutch page (429), or under ``/api/`` the API's JSON error with code
``rate_limited``.

Every response gets a Content-Security-Policy (scripts and styles only from our own
``/static/``; a response that brings its own policy, like the document preview, keeps
it), ``X-Content-Type-Options``, ``Referrer-Policy: no-referrer``, HSTS over HTTPS, and
``Cache-Control: no-store`` except for static files and the OpenAPI description.

Form fields, query parameters and JSON strings with NUL bytes or lone surrogates are
refused centrally (PostgreSQL cannot store NUL; a lone surrogate cannot be encoded),
and so are id fields outside 1 … 2³¹−1 and dates outside the years MIN_YEAR … MAX_YEAR
in forms and queries (the API's JSON is checked by ``forms_service.api.schema``); ids
in paths outside 1 … 2³¹−1 are 404 through the app's ``int`` converter.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from registry.texts import N_

MAX_ID = 2**31 - 1
"""The largest id a path, body or query may name (PostgreSQL ``integer``)."""

MIN_YEAR, MAX_YEAR = 1900, 2999
"""Years a date accepts; outside them date sums (notice + 3 months, terms of years) could overflow."""

DEFAULT_LIMITS = {
    "RATELIMIT_SIGNING": "30 per minute; 300 per hour",
    "RATELIMIT_VERIFY": "20 per minute; 200 per hour",
    "RATELIMIT_API_BAD_TOKEN": "30 per minute",
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
CACHEABLE_PREFIXES = ("/static/",)
CACHEABLE_PATHS = {"/api/openapi.json"}

TOKEN_IN_PATH = re.compile(r"(/onderteken/)[A-Za-z0-9_-]+")


def client_ip() -> str:
    """The client's address as Werkzeug sees it (ProxyFix has applied trusted proxies)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_ip, default_limits=[], headers_enabled=False)


def mask_tokens(text: str) -> str:
    """``/onderteken/<token>...`` as ``/onderteken/***...``: a link token must not reach a log."""
    return TOKEN_IN_PATH.sub(r"\1***", text)


# ----------------------------------------------------------------------------- set-up


def init_app(app: Flask) -> None:
    """Bind the limiter, the headers, the id converter and the input checks to the app.

    Called before the blueprints register (the ``int`` converter must be in place
    when their routes are added); :func:`limit_routes` runs after them.
    """
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    for key, value in DEFAULT_LIMITS.items():
        app.config.setdefault(key, value)
    app.url_map.converters["int"] = IdConverter
    limiter.init_app(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.register_error_handler(RateLimitExceeded, rate_limited)
    app.before_request(refuse_bad_text)
    app.before_request(api_bad_token_gate)
    app.after_request(count_bad_token)
    app.after_request(security_headers)
    _mask_tokens_in_logs(app)


class IdConverter(IntegerConverter):
    """``<int:...>`` for ids: 1 … 2³¹−1, anything else (0, negative, huge) is a 404."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class _TokenMaskFilter(logging.Filter):
    """Rewrites a record's message so a signing token never reaches a log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the handler's business
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_MASK = _TokenMaskFilter()


def _mask_tokens_in_logs(app: Flask) -> None:
    """The app's logger (``Exception on /onderteken/... [POST]``) and Werkzeug's request log."""
    for logger in (app.logger, logging.getLogger("werkzeug")):
        if _MASK not in logger.filters:
            logger.addFilter(_MASK)


# ----------------------------------------------------------------------------- rate limits

# (endpoint, methods, config key, shared scope): the public doors.
ROUTE_LIMITS = (
    ("signing.sign_page", ["POST"], "RATELIMIT_SIGNING", "signing"),
    ("signing.decline", ["POST"], "RATELIMIT_SIGNING", "signing"),
    ("signing.verify", ["POST"], "RATELIMIT_VERIFY", "verify"),
    ("api.verify", ["POST"], "RATELIMIT_VERIFY", "verify"),
)
_wrapped: dict[tuple, object] = {}


def _configured(key: str):
    """A limit string read from the app's config at request time (so tests and envs can set it)."""
    def provider() -> str:
        return current_app.config.get(key) or DEFAULT_LIMITS[key]
    provider.__name__ = f"limit_{key.lower()}"
    return provider


_PROVIDERS = {key: _configured(key) for key in DEFAULT_LIMITS}


def limit_routes(app: Flask) -> None:
    """Put the configured limits on the public doors (after the blueprints registered).

    The view functions are module-level, so each is wrapped once and the same wrapper
    serves every app (tests create many); the limit itself is read per request.
    """
    for endpoint, methods, key, scope in ROUTE_LIMITS:
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        cache_key = (view, key, scope)
        if cache_key not in _wrapped:
            _wrapped[cache_key] = limiter.shared_limit(_PROVIDERS[key], scope=scope, methods=methods)(view)
        app.view_functions[endpoint] = _wrapped[cache_key]


def _presented_token() -> bool:
    """Did this API request bring an Authorization header at all?"""
    return bool(request.headers.get("Authorization", "").strip())


def _bad_token_limits():
    """The configured ``RATELIMIT_API_BAD_TOKEN`` items and this client's counter key."""
    value = current_app.config.get("RATELIMIT_API_BAD_TOKEN") or DEFAULT_LIMITS["RATELIMIT_API_BAD_TOKEN"]
    return parse_many(value), ("api-bad-token", client_ip())


def api_bad_token_gate():
    """429 before any token is checked when this IP sent too many bad tokens lately."""
    if not (limiter.enabled and request.path.startswith("/api/") and _presented_token()):
        return None
    items, key = _bad_token_limits()
    if any(not limiter.limiter.test(item, *key) for item in items):
        return rate_limited(None)
    return None


def count_bad_token(response):
    """Count an API answer 401 to a request that brought a token (wrong, unknown, expired)."""
    if limiter.enabled and response.status_code == 401 and request.path.startswith("/api/") and _presented_token():
        items, key = _bad_token_limits()
        for item in items:
            limiter.limiter.hit(item, *key)
    return response


RATE_LIMIT_NL = "Te veel verzoeken in korte tijd. Wacht een minuut en probeer het dan opnieuw."


def rate_limited(_exc: HTTPException | None):
    """429 in Dutch: the API's JSON error under /api/, else a small page."""
    if request.path.startswith("/api/"):
        body = jsonify({"error": {"code": "rate_limited", "message": RATE_LIMIT_NL, "fields": {}}})
        response = current_app.make_response((body, 429))
    else:
        message = _("Te veel verzoeken in korte tijd. Wacht een minuut en probeer het dan opnieuw.")
        response = current_app.make_response((render_template("rate_limited.html", message=message), 429))
    response.headers["Retry-After"] = "60"
    return response


# ----------------------------------------------------------------------------- headers


def security_headers(response):
    """CSP, nosniff, no referrer, HSTS over HTTPS, and no-store on everything personal."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    path = request.path
    if not (path.startswith(CACHEABLE_PREFIXES) or path in CACHEABLE_PATHS):
        if "no-store" not in (headers.get("Cache-Control") or ""):
            headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    return response


# ----------------------------------------------------------------------------- input hygiene


def bad_text(value: str) -> str | None:
    """A Dutch reason when ``value`` cannot be stored as text (NUL, lone surrogate), else None."""
    if "\x00" in value:
        return N_("Bevat een ongeldig teken (NUL).")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return N_("Bevat een ongeldig teken (losse surrogaat).")
    return None


ID_FIELD = re.compile(r"(^|[_.-])(id|ids|person|table|organisation)$")
DIGITS = re.compile(r"-?[0-9]+")
DATE_LIKE = re.compile(r"([0-9]{4,})-[0-9]{2}-[0-9]{2}([T ][0-9:]+)?")


def bad_value(name: str, value: str) -> str | None:
    """Why a form or query value is refused before any view sees it, or None.

    Text with NUL or a lone surrogate; an id field (``*_id``, ``*_ids``, ``person``,
    ``table``) with a number outside 1 … 2³¹−1; a date (``JJJJ-MM-DD``, also with a
    time) with a year outside MIN_YEAR … MAX_YEAR.
    """
    problem = bad_text(value)
    if problem:
        return problem
    text = value.strip()
    if ID_FIELD.search(name) and DIGITS.fullmatch(text) and not (len(text) <= 10 and 1 <= int(text) <= MAX_ID):
        return f"Moet een nummer zijn van 1 tot en met {MAX_ID}."
    date = DATE_LIKE.fullmatch(text)
    if date and not MIN_YEAR <= int(date.group(1)) <= MAX_YEAR:
        return f"Kies een datum met een jaar van {MIN_YEAR} tot en met {MAX_YEAR}."
    return None


def bad_text_fields() -> dict[str, str]:
    """Every query parameter and form field whose name or value is refused (see :func:`bad_value`)."""
    fields: dict[str, str] = {}
    for source in (request.args, request.form):
        for name, values in source.lists():
            problem = bad_text(name) or next((p for p in (bad_value(name, v) for v in values) if p), None)
            if problem:
                fields[printable(name)] = problem
    return fields


def printable(name: str) -> str:
    """A field name fit to show and to encode (NUL and surrogates escaped)."""
    return name.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")


def refuse_bad_text():
    """Refuse a request whose query or form has NUL or a lone surrogate: 422 (API) or 400 (page)."""
    fields = bad_text_fields()
    if not fields:
        return None
    message = "Controleer de velden: " + "; ".join(f"{name}: {text}" for name, text in fields.items())
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": "validation_error", "message": message, "fields": fields}}), 422
    return render_template("bad_input.html", message=message, fields=fields), 400
