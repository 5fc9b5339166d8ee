"""the worker sends mail: an outbox message gets attempts, a next attempt, a permanent
failure and a claim (so two workers never send it twice).

Revision ID: 0012_worker_leases
Revises: 0011_subject_requests
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_worker_leases"
down_revision = "0011_subject_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
    op.create_index("ix_outbox_messages_sent_at", "outbox_messages", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_sent_at", table_name="outbox_messages")
    with op.batch_alter_table("outbox_messages") as batch:
        for column in ("claimed_until", "claim_token", "failed_at", "next_attempt_at", "attempts"):
            batch.drop_column(column)
