"""Engine and session factory for SQLite (default) and PostgreSQL (``DATABASE_URL``).

Plain SQLAlchemy, no Flask: the CLI, the web app, tests and benchmarks share it.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout for concurrency."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Enforce foreign keys and let readers run while one writer writes (WAL).

    The sqlite3 module's own transaction handling is kept on purpose: it begins a
    transaction at the first write, which takes the write lock at once and waits for it
    (busy timeout), so concurrent writers queue, and a session that only reads never
    blocks a writer.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (views render after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
