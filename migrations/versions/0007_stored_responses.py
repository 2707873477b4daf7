"""stored responses

New tables only, so it runs the same on SQLite and PostgreSQL. A stored
response is found by its id (the key) and the janitor finds the expired ones
by ``expires_at``; its output items are found by (account, item id), the key
of the second table, and deleted with their response (``response_id``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:39:32

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_responses',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('previous_response_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('input_items', sa.Text(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stored_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_responses_expires_at'), ['expires_at'], unique=False)

    op.create_table('stored_response_items',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=100), nullable=False),
    sa.Column('response_id', sa.String(length=100), nullable=False),
    sa.Column('item', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['stored_responses.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'item_id')
    )
    with op.batch_alter_table('stored_response_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_response_items_response_id'), ['response_id'], unique=False)



def downgrade():
    with op.batch_alter_table('stored_response_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_response_items_response_id'))

    op.drop_table('stored_response_items')
    with op.batch_alter_table('stored_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_responses_expires_at'))

    op.drop_table('stored_responses')
