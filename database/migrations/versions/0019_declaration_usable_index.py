"""an index that holds every column ``registry.queries.entitled`` reads from a table's
declarations (table, kind, case, dates, person), so the question who may join a table
is answered from the index alone instead of one table row per declaration.

Revision ID: 0019_declaration_usable_index
Revises: 0018_seal_jobs
"""
from alembic import op


revision = "0019_declaration_usable_index"
down_revision = "0018_seal_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_declaration_usable", "declaration",
                    ["table_id", "kind", "case_ref", "signed_on", "revoked_on", "person_id"])


def downgrade() -> None:
    op.drop_index("ix_declaration_usable", table_name="declaration")
