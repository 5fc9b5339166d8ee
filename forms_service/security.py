"""The app's own doors: rate limits (Flask-Limiter) shared by every blueprint.

Limits are counted per client IP (after ProxyFix, so behind a proxy the client's) and,
where a view adds it, per account. The storage is ``RATELIMIT_STORAGE_URI``: the default
``memory://`` counts per process, which suits one machine; several app servers point it
at a shared store (``redis://...``) so that they count together.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter


def client_ip() -> str:
    """The client's address as Werkzeug sees it (ProxyFix has applied trusted proxies)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_ip, default_limits=[], headers_enabled=False)


def init_app(app: Flask) -> None:
    """Bind the limiter to the app (storage from ``RATELIMIT_STORAGE_URI``)."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)
