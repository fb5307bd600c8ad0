"""The runtime's tables (inbox, outbox, api keys, buyer states, business dates) and the service's
own: read models, policy versions and the insurer's webhook tables, as `adapters/tables.py`
declares them at this revision.

Revision ID: 0001
Revises:
"""

from alembic import op

from arshield_insurance_claims.adapters.tables import metadata
from arshield_runtime.migrations import create_runtime_tables, upgrade_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables(op)
    upgrade_runtime_tables(op)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
