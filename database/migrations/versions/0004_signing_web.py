"""signing web: document snapshots, paper scans, sealing job columns

Revision ID: 0004_signing_web
Revises: 0003_meetings
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_signing_web'
down_revision = '0003_meetings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signing_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_by', sa.String(length=254), nullable=True))
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('document_sha256', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_signed_documents_status', ['status'], unique=False)
    op.create_table('document_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_kind', 'subject_id', 'sha256', name='uq_snapshot_subject_sha')
    )
    with op.batch_alter_table('document_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_snapshots_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_snapshots_subject_kind'), ['subject_kind'], unique=False)
    op.create_table('paper_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['signing_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('paper_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_scans_request_id'), ['request_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('paper_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_scans_request_id'))
    op.drop_table('paper_scans')
    with op.batch_alter_table('document_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_snapshots_subject_kind'))
        batch_op.drop_index(batch_op.f('ix_document_snapshots_subject_id'))
    op.drop_table('document_snapshots')
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_signed_documents_status')
        for name in ('document_sha256', 'claimed_until', 'claim_token', 'last_error', 'attempts', 'created_at'):
            batch_op.drop_column(name)
    with op.batch_alter_table('signing_requests', schema=None) as batch_op:
        batch_op.drop_column('requested_by')
