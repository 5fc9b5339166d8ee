"""Engine and session factory for SQLite (default) and PostgreSQL (``DATABASE_URL``).

Plain SQLAlchemy, no Flask: the CLI, the web app, tests and benchmarks share it.
"""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout for concurrency."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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
