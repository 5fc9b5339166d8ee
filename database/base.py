"""The one declarative ``Base`` of every table of the service (registry and signatures)
and the column type for UTC times. The lowest layer: it imports neither package.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    """Declarative base shared by every table of the service (registry and signatures)."""


class UTCDateTime(TypeDecorator):
    """Store naive UTC, return aware UTC; refuse nothing (naive input is UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        """Convert an aware value to naive UTC before it reaches the database."""
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        """Attach UTC to what the database returns."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value
