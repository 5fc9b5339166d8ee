"""pack rules: a covenant's own municipality, areas and chair model; a partner's
mandate; a consent's contact person and decline; table role holders per pack role;
meetings on request; the family roles taking part in a case (no names: DAT only).

Revision ID: 0007_pack_rules
Revises: 0006_accounts
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_pack_rules"
down_revision = "0006_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("covenant") as batch:
        batch.add_column(sa.Column("municipality", sa.String(200), nullable=True))
        batch.add_column(sa.Column("areas", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("chair_model", sa.String(20), nullable=True))
    with op.batch_alter_table("partnership") as batch:
        batch.add_column(sa.Column("mandate", sa.String(300), nullable=True))
    with op.batch_alter_table("consent") as batch:
        batch.add_column(sa.Column("contact_person", sa.String(200), nullable=True))
        batch.add_column(sa.Column("declined_on", sa.Date(), nullable=True))
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("on_request", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("meeting_case") as batch:
        batch.add_column(sa.Column("family_roles", sa.JSON(), nullable=True))
    op.create_table(
        "table_role_holder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("table_id", sa.Integer(), sa.ForeignKey("case_table.id"), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.UniqueConstraint("table_id", "role", name="uq_table_role_holder"),
    )


def downgrade() -> None:
    op.drop_table("table_role_holder")
    with op.batch_alter_table("meeting_case") as batch:
        batch.drop_column("family_roles")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("on_request")
    with op.batch_alter_table("consent") as batch:
        batch.drop_column("declined_on")
        batch.drop_column("contact_person")
    with op.batch_alter_table("partnership") as batch:
        batch.drop_column("mandate")
    with op.batch_alter_table("covenant") as batch:
        for column in ("chair_model", "areas", "municipality"):
            batch.drop_column(column)
