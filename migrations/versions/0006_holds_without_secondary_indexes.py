"""holds without secondary indexes

A hold lives only while its request is in flight, so the table holds a few rows
and every look-up but by id scans them at no cost; its indexes on user_id and
seen_at only cost each request four more page writes (the hold's insert and its
delete, in two indexes each).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holds_user_id'))
        batch_op.drop_index(batch_op.f('ix_holds_seen_at'))


def downgrade():
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_seen_at'), ['seen_at'], unique=False)
