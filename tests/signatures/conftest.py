"""Fixtures for the signing core: a database with all signing tables.

SQLite file by default; set ``SIGNATURES_TEST_DATABASE_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:55432/postgres``) to run the same tests,
including the concurrency ones, on PostgreSQL. The tables are dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from signatures.models import Base


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A file-backed SQLite engine (a file so several threads share one database)."""
    url = os.environ.get("SIGNATURES_TEST_DATABASE_URL")
    if url:
        eng = create_engine(url, pool_size=30)
        Base.metadata.drop_all(eng)
    else:
        eng = create_engine(f"sqlite:///{tmp_path / 'signing.db'}", connect_args={"timeout": 30})
    Base.metadata.create_all(eng)
    yield eng
    if url:
        Base.metadata.drop_all(eng)
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
