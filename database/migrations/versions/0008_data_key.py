"""data key: resident identity and the stored documents encrypted at rest (AES-GCM,
registry.crypto); a consent's resident_key (keyed hash of name + birth date, indexed).

Existing values are encrypted here with the configured key ring: run it through
``forms-service init-db`` (which loads ``DATA_KEY`` or ``instance/data_key``). A database
with resident data and no key ring stops with an error instead of half-converting.

Revision ID: 0008_data_key
Revises: 0007_pack_rules
"""
from alembic import op
import sqlalchemy as sa

from registry import crypto


revision = "0008_data_key"
down_revision = "0007_pack_rules"
branch_labels = None
depends_on = None


ENCRYPTED = {
    "consent": {"resident_name": "text", "resident_birth_date": "text"},
    "signing_requests": {"signer_name": "text", "signer_email": "text", "full_name_typed": "text",
                         "declined_reason": "text", "signature_png": "bytes"},
    "signed_documents": {"pdf": "bytes"},
    "document_snapshots": {"html": "text", "pdf": "bytes"},
    "paper_scans": {"filename": "text", "pdf": "bytes"},
    "evidence_events": {"actor": "text", "ip": "text", "user_agent": "text"},
    "outbox_messages": {"to": "text", "body": "text"},
}
"""Every encrypted column: ``"text"`` columns become TEXT, ``"bytes"`` stay BLOB/bytea."""

WAS = {  # the types before 0008, for the downgrade
    ("consent", "resident_name"): sa.String(200),
    ("consent", "resident_birth_date"): sa.Date(),
    ("signing_requests", "signer_name"): sa.String(200),
    ("signing_requests", "signer_email"): sa.String(254),
    ("signing_requests", "full_name_typed"): sa.String(200),
    ("paper_scans", "filename"): sa.String(200),
    ("evidence_events", "actor"): sa.String(300),
    ("evidence_events", "ip"): sa.String(45),
    ("evidence_events", "user_agent"): sa.String(400),
    ("outbox_messages", "to"): sa.String(254),
}


def _by_table() -> dict[str, list[tuple[str, sa.types.TypeEngine]]]:
    found: dict[str, list] = {}
    for (table, column), old in WAS.items():
        found.setdefault(table, []).append((column, old))
    return found


def _has_data(connection) -> bool:
    return any(connection.execute(sa.text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() for table in ENCRYPTED)


def upgrade() -> None:
    connection = op.get_bind()
    has_data = _has_data(connection)
    if has_data and not crypto.is_configured():  # before any DDL: SQLite cannot roll that back
        raise RuntimeError("Migratie 0008 versleutelt bestaande inwonergegevens en heeft de datasleutel nodig: "
                           "voer haar uit met 'forms-service init-db' (DATA_KEY of instance/data_key).")
    postgres = connection.dialect.name == "postgresql"
    for table, columns in _by_table().items():
        with op.batch_alter_table(table) as batch:
            for column, old in columns:
                extra = {"postgresql_using": f'"{column}"::text'} if postgres and isinstance(old, sa.Date) else {}
                batch.alter_column(column, existing_type=old, type_=sa.Text(), **extra)
            if table == "consent":
                batch.add_column(sa.Column("resident_key", sa.String(64), nullable=True))
                batch.create_index("ix_consent_resident_key", ["resident_key"], unique=False)

    if not has_data:
        return
    for table, columns in ENCRYPTED.items():
        crypto.encrypt_columns(connection, table, columns, clear_ok=True)
    crypto.recompute_resident_keys(connection, crypto.ResidentKeyed("consent", "resident_name",
                                                                    "resident_birth_date", "resident_key"))


def downgrade() -> None:
    connection = op.get_bind()
    if _has_data(connection):
        if not crypto.is_configured():
            raise RuntimeError("Terugdraaien van 0008 ontsleutelt de gegevens en heeft de datasleutel nodig.")
        for table, columns in ENCRYPTED.items():
            crypto.decrypt_columns(connection, table, columns)
    postgres = connection.dialect.name == "postgresql"
    for table, columns in _by_table().items():
        with op.batch_alter_table(table) as batch:
            if table == "consent":
                batch.drop_index("ix_consent_resident_key")
                batch.drop_column("resident_key")
            for column, old in columns:
                if isinstance(old, sa.Date) and not postgres:
                    continue  # SQLite would CAST '1990-01-01' to 1990; as TEXT it is the same ISO date
                extra = {"postgresql_using": f'"{column}"::date'} if postgres and isinstance(old, sa.Date) else {}
                batch.alter_column(column, existing_type=sa.Text(), type_=old, **extra)
