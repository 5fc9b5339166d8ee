"""Create or upgrade the database schema with Alembic (used by the CLI, tests and ``make run``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for this database, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (every branch head)."""
    command.upgrade(alembic_config(url), "heads")


def revision(url: str, message: str) -> None:
    """Autogenerate a new migration against the database at ``url`` (developer tool)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
