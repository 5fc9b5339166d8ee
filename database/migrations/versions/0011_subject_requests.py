"""subject requests: the register of residents' requests under the AVG (access,
correction, erasure, restriction, objection) with their statutory deadline and outcome;
the resident's name and birth date encrypted, found by their keyed hash.

Revision ID: 0011_subject_requests
Revises: 0010_jobs
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_subject_requests"
down_revision = "0010_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("resident_name", sa.Text(), nullable=False),  # AES-GCM ciphertext (registry.crypto)
        sa.Column("resident_birth_date", sa.Text(), nullable=False),  # AES-GCM ciphertext
        sa.Column("resident_key", sa.String(64), nullable=True, index=True),  # HMAC of name + birth date
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False, index=True),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("covenant_id", sa.Integer(), sa.ForeignKey("covenant.id"), nullable=True, index=True),
        sa.Column("handled_on", sa.Date()),
        sa.Column("handled_by", sa.String(254)),
        sa.Column("outcome", sa.String(20)),
        sa.Column("outcome_text", sa.String(500)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("subject_request")
