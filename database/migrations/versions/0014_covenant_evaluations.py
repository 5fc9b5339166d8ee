"""covenant evaluations and bulk sends: the partners' annual evaluation of a covenant
(Emmen art. 12) with its date and a note; and one row per bulk send of Bijlage 1 to a
table's participants, holding the outbox messages it queued (for "n van m verstuurd").

Revision ID: 0014_covenant_evaluations
Revises: 0013_webhooks
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_covenant_evaluations"
down_revision = "0013_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "covenant_evaluation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("covenant_id", sa.Integer(), sa.ForeignKey("covenant.id"), nullable=False, index=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "bulk_send",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("table_id", sa.Integer(), sa.ForeignKey("case_table.id"), nullable=False, index=True),
        sa.Column("started_by", sa.String(254), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("outbox_ids", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bulk_send")
    op.drop_table("covenant_evaluation")
