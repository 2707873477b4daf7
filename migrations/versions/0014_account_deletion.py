"""closed accounts: users.deleted_at

An account closed by its owner keeps its row (ledger entries, usage rows and
payments still point at it), with its e-mail replaced and ``deleted_at`` set.
Existing accounts are open (NULL).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
