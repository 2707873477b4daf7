"""catalog models name how their routes are chosen; routing state table

``models.routing`` (``fallback``: routes in order, the default; ``balance``: by
the routes' weights) and ``routing_state``, where the workers share the routes'
circuit breakers and the route each conversation last used when there is no
Redis and the database is not SQLite.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing', sa.String(length=20), nullable=False, server_default='fallback'))
    op.create_table('routing_state',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('routing_state')
    with op.batch_alter_table('models', schema=None) as batch_op:
        batch_op.drop_column('routing')
