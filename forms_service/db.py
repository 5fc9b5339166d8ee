"""The database session of one web request: opened on first use, closed at teardown.

Views commit once at the end of their work; anything else (an error, an early return)
rolls back, so a request changes everything it meant to or nothing.

A view that only reads (:func:`read_only`, e.g. the API's ``check``) gets, on
PostgreSQL, a session in autocommit mode: each of its statements is one round trip, with
no BEGIN and no ROLLBACK around them. Such a session refuses every write (flush, INSERT,
UPDATE, DELETE), so it can never commit anything by accident; it reads what is committed,
statement by statement, as the default READ COMMITTED transaction does too.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from database.engine import make_engine, make_session_factory

READ_ONLY_ENDPOINTS: set[str] = set()
"""Endpoints whose GET requests only read (see :func:`read_only`)."""


def read_only(endpoint: str) -> None:
    """Mark ``endpoint`` as a reader: its GET requests get a read-only autocommit session
    on PostgreSQL. Only for views that write nothing, not even a read log (a logged read
    must be written in the request's transaction)."""
    READ_ONLY_ENDPOINTS.add(endpoint)


class ReadOnlySession(Session):
    """A session for a reading request: any write raises before it reaches the database."""


def _refuse_flush(session, _context, _instances) -> None:
    raise RuntimeError("a read-only request tried to write (flush)")


def _refuse_writes(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise RuntimeError("a read-only request tried to write")


def init_app(app: Flask) -> None:
    """Create the engine for ``DATABASE_URL`` and close sessions after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = make_session_factory(engine)
    if engine.dialect.name == "postgresql":
        readers = sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT"),
                               class_=ReadOnlySession, expire_on_commit=False)
        event.listen(readers, "before_flush", _refuse_flush)
        event.listen(readers, "do_orm_execute", _refuse_writes)
        app.extensions["db_read_sessions"] = readers
    else:  # SQLite's driver begins no transaction for a read anyway
        app.extensions["db_read_sessions"] = app.extensions["db_sessions"]
    app.teardown_appcontext(_close)


def session() -> Session:
    """The request's session (created lazily)."""
    if "db_session" not in g:
        reading = has_request_context() and request.method in ("GET", "HEAD") and request.endpoint in READ_ONLY_ENDPOINTS
        g.db_session = current_app.extensions["db_read_sessions" if reading else "db_sessions"]()
    return g.db_session


def _close(_exc: BaseException | None) -> None:
    """Roll back whatever was not committed and release the connection."""
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()
