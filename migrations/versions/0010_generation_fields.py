"""usage rows tell what served each answer and how it ended

New nullable columns of ``usage_records`` for ``GET /generation``: the upstream
model that served, the upstream's own id for its answer, the finish reason the
client got and the upstream's own, and the time to the stream's first event.
Rows written before this revision keep them empty.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upstream_model', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('upstream_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('finish_reason', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('native_finish_reason', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('first_token_ms', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.drop_column('first_token_ms')
        batch_op.drop_column('native_finish_reason')
        batch_op.drop_column('finish_reason')
        batch_op.drop_column('upstream_id')
        batch_op.drop_column('upstream_model')
