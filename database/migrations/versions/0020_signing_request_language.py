"""the language of a signing request: the invitation's language (the sender's page
language), so the worker writes the reminders and the sealed-copy notice to that signer
in the same language. Older rows stay NULL and get Dutch.

Revision ID: 0020_signing_request_language
Revises: 0019_declaration_usable_index
"""
from alembic import op
import sqlalchemy as sa


revision = "0020_signing_request_language"
down_revision = "0019_declaration_usable_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_requests") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_requests") as batch:
        batch.drop_column("language")
