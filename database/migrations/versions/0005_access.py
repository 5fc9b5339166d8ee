"""access: grants (role + scope), TOTP, recovery codes, account links, API token expiry,
and the hash-chained access log (NEN 7513). Existing administrators keep their rights as
an ``admin`` grant; the ``is_admin`` column goes (rights come only from grants).

Revision ID: 0005_access
Revises: 0004_signing_web
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_access"
down_revision = "0004_signing_web"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("name", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "user_grant",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("covenant_id", sa.Integer(), sa.ForeignKey("covenant.id"), nullable=True),
        sa.Column("table_id", sa.Integer(), sa.ForeignKey("case_table.id"), nullable=True),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisation.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=True),
    )
    op.create_index("ix_user_grant_user_id", "user_grant", ["user_id"])
    op.execute(
        "INSERT INTO user_grant (user_id, role, created_at, created_by) "
        "SELECT id, 'admin', created_at, 'migration 0005' FROM user_account WHERE is_admin"
        if op.get_bind().dialect.name == "postgresql" else
        "INSERT INTO user_grant (user_id, role, created_at, created_by) "
        "SELECT id, 'admin', created_at, 'migration 0005' FROM user_account WHERE is_admin = 1"
    )
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("is_admin")
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"])
    op.create_table(
        "account_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_account_link_user_id", "account_link", ["user_id"])
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False, unique=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("scope", sa.String(40), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("subject_kind", sa.String(30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(300), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(400), nullable=True),
        sa.Column("pii_salt", sa.String(32), nullable=True),
        sa.Column("pii_hash", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_access_log_user_id", "access_log", ["user_id"])
    op.create_index("ix_access_log_subject", "access_log", ["subject_kind", "subject_id"])
    head = op.create_table(
        "access_log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "chain_hash": GENESIS_HASH}])


def downgrade() -> None:
    op.drop_table("access_log_head")
    op.drop_table("access_log")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("expires_on")
    op.drop_table("account_link")
    op.drop_table("recovery_code")
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.drop_table("user_grant")
    with op.batch_alter_table("user_account") as batch:
        for column in ("session_epoch", "totp_enabled_at", "totp_secret", "disabled_at", "name"):
            batch.drop_column(column)
