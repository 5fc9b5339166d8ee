"""Engine and session factory for SQLite (default) and PostgreSQL (``DATABASE_URL``).

Plain SQLAlchemy, no Flask: the CLI, the web app, tests and benchmarks share it.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout for concurrency; a
    server database pings only connections that sat idle (:func:`_ping_idle_connections`)."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if not kwargs["pool_pre_ping"]:
        _ping_idle_connections(engine)
    return engine


POOL_RECYCLE_SECONDS = 1800
"""A pooled server connection older than this is replaced (servers and proxies drop old ones)."""
IDLE_PING_SECONDS = 10.0
"""A pooled server connection unused for longer than this is pinged before it is handed out."""


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection only when it sat idle, not at every checkout.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip per checkout — as much as a
    registry check itself. Instead a connection that waited in the pool longer than
    :data:`IDLE_PING_SECONDS` is pinged (a server restarted while the app was quiet),
    one older than :data:`POOL_RECYCLE_SECONDS` is replaced, and a connection lost while
    the app is busy fails one statement, upon which SQLAlchemy invalidates the whole pool
    (every connection from before the loss is replaced at its next checkout).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since <= IDLE_PING_SECONDS:
            return
        autocommit = getattr(dbapi_connection, "autocommit", None)
        try:
            if autocommit is False:  # psycopg: no BEGIN for the ping
                dbapi_connection.autocommit = True
            dialect.do_ping(dbapi_connection)
            if autocommit is False:
                dbapi_connection.autocommit = False
        except Exception as exc:  # the pool discards this connection and connects anew
            raise DisconnectionError(f"idle connection lost: {exc}") from exc


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file mode 600 before SQLite does (its -wal and -shm files take
    the same mode), and narrow an existing file of ours that others may read."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            info = os.stat(path)
            if info.st_uid == os.geteuid() and info.st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:
            pass
    except OSError:
        return  # e.g. the folder does not exist: SQLite reports it
    else:
        os.close(fd)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Enforce foreign keys and let readers run while one writer writes (WAL); deleted
    content is zeroed (``secure_delete``).

    The sqlite3 module's own transaction handling is kept on purpose: it begins a
    transaction at the first write, which takes the write lock at once and waits for it
    (busy timeout), so concurrent writers queue, and a session that only reads never
    blocks a writer.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")  # overwritten values (clear text before 0008) leave no trace
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (views render after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
