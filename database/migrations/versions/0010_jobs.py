"""daily jobs: one job_run row per job and day, so that several workers run a daily job
(retention) once.

Revision ID: 0010_jobs
Revises: 0009_case_life
"""
from alembic import op
import sqlalchemy as sa


revision = "0010_jobs"
down_revision = "0009_case_life"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("summary", sa.String(200)),
        sa.UniqueConstraint("job", "day", name="uq_job_run"),
    )


def downgrade() -> None:
    op.drop_table("job_run")
