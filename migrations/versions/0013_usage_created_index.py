"""usage_records indexed by created_at, for deleting rows past their retention

The janitor deletes usage rows older than ``LUMYX_USAGE_RETENTION_DAYS`` in
batches by age. On PostgreSQL the index is built ``CONCURRENTLY``, so a large
usage table keeps taking writes while it is built.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 22:30:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_usage_created",
                "usage_records",
                ["created_at"],
                unique=False,
                postgresql_concurrently=True,
                if_not_exists=True,
            )
    else:
        op.create_index("ix_usage_created", "usage_records", ["created_at"], unique=False)


def downgrade():
    op.drop_index("ix_usage_created", table_name="usage_records")
