"""Alembic environment: runs migrations on the connection or URL it is given."""

from alembic import context
from sqlalchemy import pool

from database.base import Base
from database.engine import make_engine

# The migration environment is the one place that knows every model module, so that
# every table of the service is on Base.metadata; the models import only database.base.
import registry.models  # noqa: F401,E402
import signatures.models  # noqa: F401,E402

target_metadata = Base.metadata
config = context.config


def run() -> None:
    """Online migrations only: the service always migrates a real database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _migrate(conn)


def _migrate(connection) -> None:
    """Run the upgrade in one transaction, with batch mode so SQLite can alter tables.

    SQLite alters a table by copying it and dropping the old one, which foreign keys
    from rows of other tables forbid; so foreign keys are off while migrating (the pragma
    only takes effect outside a transaction, before the first write) and every reference
    is checked before the commit — a broken one stops the upgrade and rolls it back.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken references: {broken[:5]}")
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run()
