"""cache prices and cache tokens

Models gain the prices of prompt tokens read from and written to the
upstream's cache (5-minute and 1-hour writes), µcr per million tokens; rows
already there get the catalog's defaults (read and write at the input price),
which the next catalog load replaces with the file's. Usage rows gain the
cache-write token counts (``cached_tokens`` already holds the reads). Added
columns only, so it runs the same on SQLite and PostgreSQL.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('models') as batch:
        batch.add_column(sa.Column('price_cache_read', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('price_cache_write', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('price_cache_write_1h', sa.BigInteger(), nullable=True))
    op.execute(
        'UPDATE models SET price_cache_read = price_input, price_cache_write = price_input, '
        'price_cache_write_1h = price_input'
    )
    with op.batch_alter_table('usage_records') as batch:
        batch.add_column(sa.Column('cache_write_tokens', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('cache_write_1h_tokens', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('usage_records') as batch:
        batch.drop_column('cache_write_1h_tokens')
        batch.drop_column('cache_write_tokens')
    with op.batch_alter_table('models') as batch:
        batch.drop_column('price_cache_write_1h')
        batch.drop_column('price_cache_write')
        batch.drop_column('price_cache_read')
