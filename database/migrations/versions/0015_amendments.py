"""the covenant's life: its history (who recorded which step, when) and its
amendments (art. 13) with each partner's approval.

Revision ID: 0015_amendments
Revises: 0014_covenant_evaluations
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_amendments"
down_revision = "0014_covenant_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "covenant_amendment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("covenant_id", sa.Integer(), sa.ForeignKey("covenant.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("pack_version", sa.String(40)),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("proposed_by", sa.String(254), nullable=False),
        sa.Column("in_force_on", sa.Date()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("covenant_id", "version"),
    )
    op.create_table(
        "amendment_approval",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("amendment_id", sa.Integer(), sa.ForeignKey("covenant_amendment.id"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("representative_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("signed_on", sa.Date()),
        sa.Column("signed_via", sa.String(10)),
        sa.UniqueConstraint("amendment_id", "organisation_id"),
    )
    op.create_table(
        "covenant_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("covenant_id", sa.Integer(), sa.ForeignKey("covenant.id"), index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisation.id")),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), index=True),
        sa.Column("declaration_id", sa.Integer(), sa.ForeignKey("declaration.id"), index=True),
        sa.Column("amendment_id", sa.Integer(), sa.ForeignKey("covenant_amendment.id")),
        sa.Column("detail", sa.Text()),
        sa.Column("ends_on", sa.Date()),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("covenant_event")
    op.drop_table("amendment_approval")
    op.drop_table("covenant_amendment")
