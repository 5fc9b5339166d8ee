"""Shared fixtures: databases on SQLite and a real PostgreSQL server, the app, clients.

Tests that take ``db_url`` (directly or through ``session``/``app``) run twice: on a
SQLite file and on PostgreSQL. Each test gets a fresh, migrated database: a copy of a
template migrated once per run (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE``
for PostgreSQL), so tests stay isolated and fast.
"""

from __future__ import annotations

import itertools
import os
import shutil

import pytest
import sqlalchemy as sa

from database import migrate
from database.engine import make_engine, make_session_factory
from tests import pgserver
from tests.auth_support import login  # noqa: F401  (re-exported: tests log in with conftest.login)

BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()

TEST_DATA_KEY = "dGVzdC1kYXRhLWtleS1vZi10aGUtZm9ybXMtc2VydmU="
"""The data key of the test run (32 bytes): the app, the CLI and bare sessions share it."""


@pytest.fixture(scope="session", autouse=True)
def _data_key_env():
    """``DATA_KEY`` for the whole run, so every app, CLI call and subprocess agrees."""
    previous = os.environ.get("DATA_KEY")
    os.environ["DATA_KEY"] = TEST_DATA_KEY
    yield
    if previous is None:
        os.environ.pop("DATA_KEY", None)
    else:
        os.environ["DATA_KEY"] = previous


@pytest.fixture(autouse=True)
def data_key(_data_key_env):
    """The test key ring, configured afresh for each test (a test may switch keys)."""
    from registry import crypto

    ring = crypto.ring_from_texts(TEST_DATA_KEY)
    crypto.configure(ring)
    yield ring
    crypto.configure(ring)


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server for the whole run.

    Without PostgreSQL binaries the PostgreSQL variants are skipped, unless
    ``FORMS_SERVICE_REQUIRE_PG=1`` (set by ``make test``) makes that an error.
    """
    if pgserver.find_pg_bin() is None and os.environ.get("FORMS_SERVICE_REQUIRE_PG") != "1":
        pytest.skip("PostgreSQL is not installed")
    server = pgserver.start()
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE template_forms")
    admin.dispose()
    migrate.upgrade(server.url_for("template_forms"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, migrated database for one test, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("pg_server")
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template_forms")
    admin.dispose()
    return server.url_for(name)


@pytest.fixture
def engine(db_url):
    """An engine on the test database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A session on the test database (tests commit or flush as they need)."""
    with make_session_factory(engine)() as db_session:
        yield db_session


@pytest.fixture
def instance_dir(tmp_path, monkeypatch):
    """A private instance folder (secret key, seal key) for the app under test."""
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("FORMS_SERVICE_INSTANCE", str(path))
    return path


@pytest.fixture
def app(db_url, instance_dir):
    """The Flask app on the test database."""
    from forms_service import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": db_url})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def app_session(app):
    """A session on the app's database, for arranging data before requests."""
    with make_session_factory(app.extensions["db_engine"])() as db_session:
        yield db_session


ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "correct horse battery"
ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the admin is enrolled for TOTP already


def enrol_totp(user, secret: str | None = None) -> str:
    """Mark a user as enrolled for TOTP with this (or a new) secret; the caller commits."""
    import pyotp

    from registry import accounts

    user.totp_secret = secret or pyotp.random_base32(32)
    user.totp_enabled_at = accounts.utcnow()
    return user.totp_secret


@pytest.fixture
def admin_token(app, app_session):
    """An administrator account (TOTP enrolled with ``ADMIN_TOTP_SECRET``) and an API token for it."""
    from registry import accounts

    user = accounts.create_user(app_session, ADMIN_EMAIL, ADMIN_PASSWORD, is_admin=True, name="Beheerder")
    enrol_totp(user, ADMIN_TOTP_SECRET)
    token = accounts.create_token(app_session, user)
    app_session.commit()
    return token


@pytest.fixture
def make_user(app, app_session):
    """Factory: ``make_user(grants=[{"role": "chair", "table_id": 3}], person_id=None, enrolled=True)``
    creates an active account with a password and returns ``(email, password, totp_secret)``.

    ``totp_secret`` is set (the account pre-enrolled) when the grants need MFA and
    ``enrolled`` is true; with ``enrolled=False`` the first login enrols through the page.
    """
    from registry import accounts

    counter = itertools.count(1)

    def make(grants=(), person_id=None, email=None, password="een lang wachtwoord", name=None, enrolled=True):
        number = next(counter)
        email = email or f"user{number}@example.org"
        user = accounts.create_user(app_session, email, password, name=name or f"Gebruiker {number}",
                                    person_id=person_id, grants=list(grants), created_by="test")
        secret = enrol_totp(user) if enrolled and accounts.requires_mfa(user) else None
        app_session.commit()
        return email, password, secret

    return make


class Api:
    """A tiny JSON client with the bearer token set."""

    def __init__(self, client, token: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post(path, json=json, headers=self.headers, **kwargs)


@pytest.fixture
def api(client, admin_token):
    """The API client authenticated as an administrator."""
    return Api(client, admin_token)


@pytest.fixture
def logged_in(client, admin_token, app):
    """The web client logged in as the administrator: password, then a TOTP code (CSRF checked for real)."""
    response = login(client, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET)
    assert response.status_code == 302 and not response.headers["Location"].startswith("/login"), response.get_data(as_text=True)
    return client


@pytest.fixture
def served(app):
    """The app on a real threaded HTTP server on loopback (werkzeug); yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_app(app):
    """The app sending mail to a real SMTP server on loopback (aiosmtpd); yields (app, inbox).
    Mail leaves through the outbox: run ``tests.signing_support.worker_round`` first."""
    from aiosmtpd.controller import Controller

    from tests.signatures.test_signatures_mail import Inbox, free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="casustafel@emmen.example",
                      PUBLIC_BASE_URL="https://casustafel.example")
    yield app, inbox
    controller.stop()
