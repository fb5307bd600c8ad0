"""Runtime tables (inbox, outbox, api_keys) and dunning's own tables.

Revision ID: 0001
Revises:
"""

from alembic import op
from arshield_runtime.migrations import create_runtime_tables, drop_runtime_tables

from arshield_dunning.adapters.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables(op)
    # The tables as of this revision; later revisions alter them explicitly.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
    drop_runtime_tables(op)
