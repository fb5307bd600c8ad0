"""A test service's schema: the runtime tables and one effect table."""

import sqlalchemy as sa
from alembic import op

from arshield_runtime.migrations import create_runtime_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "effects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("buyer_id", sa.Text, nullable=False),
    )
    op.create_table(
        "key_counters",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("key_counters")
    op.drop_table("effects")
