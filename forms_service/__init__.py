"""The Flask web service: forms, pages, JSON API and CLI around the registry.

``create_app`` is the only entry point; views stay thin (load, check access, call a
service in :mod:`registry` or :mod:`signatures`, render).
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from forms_service import config as config_module
from forms_service import db

csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, database, CSRF, blueprints."""
    app = Flask(__name__)
    app.config.update(config_module.load_config())
    if test_config:
        app.config.update(test_config)
    db.init_app(app)
    csrf.init_app(app)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """Every blueprint of the service, explicitly (no auto-discovery)."""
    from forms_service.api import bp as api_bp
    from forms_service.auth import bp as auth_bp
    from forms_service.web import bp as web_bp
    from forms_service.web.documents import bp as documents_bp
    from forms_service.web.meetings import bp as meetings_bp

    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    app.register_blueprint(auth_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(api_bp)
