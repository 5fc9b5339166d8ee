"""seal jobs and sealing backoff: a presentie- en toetsingslijst exported while
TIMESTAMP_URL is set waits in ``seal_jobs`` (rendered, encrypted) for the worker's
seal; a signed document waiting for its seal gets a next attempt (exponential backoff
while the timestamp server is down).

Revision ID: 0018_seal_jobs
Revises: 0017_attendance
"""
from alembic import op
import sqlalchemy as sa


revision = "0018_seal_jobs"
down_revision = "0017_attendance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signed_documents") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
    op.create_table(
        "seal_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False, unique=True),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False, index=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),  # AES-GCM ciphertext (registry.crypto)
        sa.Column("seal", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),  # AES-GCM ciphertext
        sa.Column("ip", sa.Text(), nullable=True),  # AES-GCM ciphertext
        sa.Column("user_agent", sa.Text(), nullable=True),  # AES-GCM ciphertext
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("seal_jobs")
    with op.batch_alter_table("signed_documents") as batch:
        batch.drop_column("next_attempt_at")
