"""The database session of one web request: opened on first use, closed at teardown.

Views commit once at the end of their work; anything else (an error, an early return)
rolls back, so a request changes everything it meant to or nothing.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from database.engine import make_engine, make_session_factory


def init_app(app: Flask) -> None:
    """Create the engine for ``DATABASE_URL`` and close sessions after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = make_session_factory(engine)
    app.teardown_appcontext(_close)


def session() -> Session:
    """The request's session (created lazily)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessions"]()
    return g.db_session


def _close(_exc: BaseException | None) -> None:
    """Roll back whatever was not committed and release the connection."""
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()
