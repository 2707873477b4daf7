"""keys that can be handed out: a spending limit, a model allowlist, an expiry

New nullable (or defaulted) columns on ``api_keys``, so it runs the same on
SQLite and PostgreSQL. ``spent`` starts as what each existing key was charged
so far (its usage rows' costs).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spend_limit', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('spent', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('held', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('models', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE api_keys SET spent = COALESCE("
        "(SELECT SUM(cost) FROM usage_records WHERE usage_records.api_key_id = api_keys.id), 0)"
    )


def downgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('models')
        batch_op.drop_column('held')
        batch_op.drop_column('spent')
        batch_op.drop_column('spend_limit')
