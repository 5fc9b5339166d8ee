"""Fixtures for the signing core, on the shared ``db_url`` databases.

Every test here that touches the database runs twice, on SQLite and on a real
PostgreSQL server (see ``tests/conftest.py``), on a freshly migrated schema, so the
concurrency tests exercise both locking models.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from database.engine import make_engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test database; PostgreSQL gets room for the concurrency tests' threads."""
    eng = make_engine(db_url) if db_url.startswith("sqlite") else make_engine(db_url, pool_size=30)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to :func:`engine`, one per thread in concurrency tests."""
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session for a test; rolled back and closed afterwards."""
    with session_factory() as s:
        yield s
        s.rollback()


@pytest.fixture
def now() -> datetime:
    """A fixed moment, so expiry tests do not depend on the clock."""
    return datetime(2026, 3, 2, 10, 0, 0, tzinfo=timezone.utc)
