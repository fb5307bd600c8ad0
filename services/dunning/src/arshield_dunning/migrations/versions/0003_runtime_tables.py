"""The runtime's tables in their current shape: the inbox key holds the tenant (one tenant's event
ids never shadow another's) and API keys may expire.

Revision ID: 0003
Revises: 0002b
"""

from alembic import op

from arshield_runtime.migrations import upgrade_runtime_tables

revision = "0003"
down_revision = "0002b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_runtime_tables(op)


def downgrade() -> None:
    raise NotImplementedError("the inbox cannot forget its tenants: restore a backup instead")
