"""The runtime's tables brought to their current shape, as every service's newest revision does."""

from alembic import op

from arshield_runtime.migrations import upgrade_runtime_tables

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    upgrade_runtime_tables(op)


def downgrade() -> None:
    raise NotImplementedError
