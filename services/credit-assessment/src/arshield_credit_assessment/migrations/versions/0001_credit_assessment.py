"""The runtime's tables (inbox, outbox, api keys, the kernel's states and business dates) and
credit-assessment's read models.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

from arshield_credit_assessment.adapters.tables import metadata
from arshield_runtime.migrations import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables(op)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
    drop_runtime_tables(op)
