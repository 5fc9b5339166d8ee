"""webhooks: subscriptions (URL, events, encrypted secret), the outbox of events written
in the transaction of the change they report, and one delivery row per event and
subscription with attempts, backoff and a lease for the worker.

Revision ID: 0013_webhooks
Revises: 0012_worker_leases
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_webhooks"
down_revision = "0012_worker_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),  # AES-GCM ciphertext (registry.crypto); blanked on removal
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(254)),
        sa.Column("removed_at", sa.DateTime()),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("webhook_subscriptions.id"), nullable=False, index=True),
        sa.Column("event_id", sa.String(36), sa.ForeignKey("webhook_events.id"), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime()),
        sa.Column("delivered_at", sa.DateTime()),
        sa.Column("response_status", sa.Integer()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("claim_token", sa.String(32)),
        sa.Column("claimed_until", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_subscriptions")
