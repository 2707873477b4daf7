"""web sessions that end: a per-account session generation

``users.session_generation`` is part of what a web session's cookie carries; raising
it (log-out, "log out everywhere") ends every session stamped with an older one.
Existing accounts start at 0, the generation of the cookies issued before this revision.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
