"""attendance and invitations of meetings: who actually attended (recorded after the
meeting, by whom and when), when each invitee was mailed an invitation (with the
iCalendar SEQUENCE of the latest one), and attachments of outbox messages (the .ics).

Revision ID: 0017_attendance
Revises: 0016_document_cache
"""
from alembic import op
import sqlalchemy as sa


revision = "0017_attendance"
down_revision = "0016_document_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_invitee") as batch:
        batch.add_column(sa.Column("attended", sa.Boolean(), nullable=True))  # None: not recorded
        batch.add_column(sa.Column("invited_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("invitation_sequence", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("attendance_recorded_by", sa.String(254), nullable=True))
        batch.add_column(sa.Column("attendance_recorded_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("outbox_messages") as batch:
        # AES-GCM ciphertext (registry.crypto) of a JSON list of {filename, content_type, data (base64)}
        batch.add_column(sa.Column("attachments", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("attachments")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("attendance_recorded_at")
        batch.drop_column("attendance_recorded_by")
    with op.batch_alter_table("meeting_invitee") as batch:
        batch.drop_column("invitation_sequence")
        batch.drop_column("invited_at")
        batch.drop_column("attended")
