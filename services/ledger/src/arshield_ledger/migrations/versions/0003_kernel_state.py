"""The ledger runs on the runtime's kernel: buyer states and business dates move to the kernel's
tables (`buyer_states`, `business_dates`).

Each tenant's business date is copied. The buyer snapshots (`buyer_accounts`) are dropped: the
kernel's state is another shape, derived from the log, so a database upgraded from 0002 with buyers
in it needs a rebuild (`python -m arshield_ledger rebuild`) before it consumes again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from arshield_runtime.migrations import upgrade_runtime_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_runtime_tables(op)  # the kernel's tables exist before the copy
    op.execute(
        "INSERT INTO business_dates (tenant_id, business_date)"
        " SELECT tenant_id, business_date FROM business_days"
        " ON CONFLICT (tenant_id) DO UPDATE"
        " SET business_date = GREATEST(business_dates.business_date, EXCLUDED.business_date)"
    )
    op.drop_table("business_days")
    op.drop_table("buyer_accounts")
    op.drop_index("ix_instalments_next_alert", table_name="instalments")


def downgrade() -> None:
    raise NotImplementedError("buyer snapshots cannot be restored: restore a backup instead")
