"""accounts: the last accepted TOTP step (a code is accepted once), and an expiry date for
API tokens issued before expiry existed (90 days from this upgrade, so integrations get
time to replace them).

Revision ID: 0006_accounts
Revises: 0005_access
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = "0006_accounts"
down_revision = "0005_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    grace = dt.date.today() + dt.timedelta(days=90)
    op.get_bind().execute(sa.text("UPDATE api_token SET expires_on = :day WHERE expires_on IS NULL"), {"day": grace})


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("totp_last_step")
