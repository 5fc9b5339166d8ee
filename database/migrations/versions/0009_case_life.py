"""case life: phases and their history, bringer, procesregisseur, casusregie, closure
reason and evaluation, retention stage and exception; case participants, each partner's
sharing basis, the meeting action list, and the non-identifying figures that remain of
deleted records; a consent's erasure date.

Revision ID: 0009_case_life
Revises: 0008_data_key
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_case_life"
down_revision = "0008_data_key"
branch_labels = None
depends_on = None

_CASE_COLUMNS = (
    ("phase", sa.String(40)), ("phase_since", sa.Date()), ("track", sa.String(10)),
    ("close_reason", sa.String(20)), ("evaluated_on", sa.Date()), ("archived_on", sa.Date()),
    ("erased_on", sa.Date()), ("retention_hold_reason", sa.String(500)), ("retention_review_on", sa.Date()),
)
_CASE_FKS = (("brought_by_organisation_id", "organisation"), ("brought_by_person_id", "person"),
             ("procesregisseur_id", "person"), ("casusregie_organisation_id", "organisation"))


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        for name, type_ in _CASE_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("retention_stage", sa.String(10), nullable=False, server_default="active"))
        for name, table in _CASE_FKS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
            batch.create_foreign_key(f"fk_case_{name}", table, [name], ["id"])
    with op.batch_alter_table("consent") as batch:
        batch.add_column(sa.Column("erased_on", sa.Date(), nullable=True))
    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("from_phase", sa.String(40)),
        sa.Column("to_phase", sa.String(40)),
        sa.Column("reason", sa.String(500)),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "case_participant",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False, index=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("role", sa.String(40)),
        sa.Column("ad_hoc", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date()),
        sa.Column("added_by", sa.String(254), nullable=False),
        sa.UniqueConstraint("case_id", "person_id", name="uq_case_participant"),
    )
    op.create_table(
        "sharing_basis",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False, index=True),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.UniqueConstraint("case_id", "organisation_id", name="uq_sharing_basis"),
    )
    op.create_table(
        "action_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False, index=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False, index=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date()),
        sa.Column("recorded_by", sa.String(254), nullable=False),
    )
    op.create_table(
        "retention_figure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("table_id", sa.Integer(), sa.ForeignKey("case_table.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("table_id", "month", "kind", name="uq_retention_figure"),
    )


def downgrade() -> None:
    for table in ("retention_figure", "action_item", "sharing_basis", "case_participant", "case_event"):
        op.drop_table(table)
    with op.batch_alter_table("consent") as batch:
        batch.drop_column("erased_on")
    with op.batch_alter_table("case") as batch:
        for name, _ in _CASE_FKS:
            batch.drop_constraint(f"fk_case_{name}", type_="foreignkey")
            batch.drop_column(name)
        batch.drop_column("retention_stage")
        for name, _ in reversed(_CASE_COLUMNS):
            batch.drop_column(name)
