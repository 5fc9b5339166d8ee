"""The Flask web service: forms, pages, JSON API and CLI around the registry.

``create_app`` is the only entry point; views stay thin (load, check access, call a
service in :mod:`registry` or :mod:`signatures`, render).
"""

from __future__ import annotations


from flask import Flask
from flask_wtf.csrf import CSRFProtect

from forms_service import config as config_module
from forms_service import db, i18n, security

csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, database, CSRF, blueprints."""
    app = Flask(__name__)
    app.config.update(config_module.load_config())
    if test_config:
        app.config.update(test_config)
    config_module.configure_data_key(app.config)  # before any row is read or written
    db.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    security.init_app(app)  # before the blueprints: the ``int`` converter for ids
    _register_blueprints(app)
    security.limit_routes(app)
    from forms_service.access import menu_rights

    app.context_processor(menu_rights)
    return app


def _register_blueprints(app: Flask) -> None:
    """Every blueprint of the service, explicitly (no auto-discovery)."""
    from forms_service.api import bp as api_bp
    from forms_service.api import init_app as init_api
    from forms_service.auth import bp as auth_bp
    from forms_service.signing.views import bp as signing_bp
    from forms_service.web import bp as web_bp
    from forms_service.web.documents import bp as documents_bp
    from forms_service.web.meetings import bp as meetings_bp
    from forms_service.web.access_log import bp as access_log_bp
    from forms_service.web.users import bp as users_bp
    from forms_service.web.subject_requests import bp as subject_requests_bp
    from forms_service.web.public import bp as public_bp
    from forms_service.web.cases import bp as cases_bp
    from forms_service.web.webhooks import bp as webhooks_bp
    from forms_service.web.records import bp as records_bp
    from forms_service.web.covenant_life import bp as covenant_life_bp

    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    app.register_blueprint(auth_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(signing_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(access_log_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(subject_requests_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(covenant_life_bp)
    init_api(app)  # registers api_bp with flask-smorest (the OpenAPI document)
