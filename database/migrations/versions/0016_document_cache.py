"""document cache: rendered (and sealed) document bytes keyed by the SHA-256 of the
view-model's cache key, the pack's version and the variant, shared by every app server;
the bytes encrypted with the data key like every other stored PDF.

Revision ID: 0016_document_cache
Revises: 0015_amendments
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_document_cache"
down_revision = "0015_amendments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_cache",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),  # AES-GCM ciphertext (registry.crypto)
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("document_cache")
