"""Dunning on the runtime's kernel: buyer states move to the kernel's `buyer_states` and the
tenants' business dates to its `business_dates`; `dunning_buyers` and `dunning_tenant_clock` go.

States and dates are copied (no rebuild needed). The trace each invoice was first tracked in, kept
until now in `dunning_invoice_index` only, is copied into the invoice's state, where a business
day's decisions read it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from arshield_runtime.migrations import upgrade_runtime_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_runtime_tables(op)  # creates buyer_states and business_dates
    op.execute(
        sa.text(
            "INSERT INTO buyer_states (tenant_id, buyer_id, state, wake_on)"
            " SELECT tenant_id, buyer_id, state, wake_on FROM dunning_buyers"
            " ON CONFLICT (tenant_id, buyer_id) DO NOTHING"
        )
    )
    op.execute(
        sa.text(
            """
            DO $$
            DECLARE r record;
            BEGIN
              FOR r IN SELECT tenant_id, buyer_id, invoice_id, traceparent
                       FROM dunning_invoice_index WHERE traceparent IS NOT NULL LOOP
                UPDATE buyer_states
                SET state = jsonb_set(
                  state, ARRAY['invoices', r.invoice_id, 'traceparent'], to_jsonb(r.traceparent)
                )
                WHERE tenant_id = r.tenant_id AND buyer_id = r.buyer_id
                  AND state -> 'invoices' ? r.invoice_id;
              END LOOP;
            END $$
            """
        )
    )
    op.execute(
        sa.text(
            "INSERT INTO business_dates (tenant_id, business_date)"
            " SELECT tenant_id, business_date FROM dunning_tenant_clock"
            " ON CONFLICT (tenant_id) DO UPDATE SET business_date ="
            " greatest(business_dates.business_date, excluded.business_date)"
        )
    )
    op.drop_table("dunning_buyers")
    op.drop_table("dunning_tenant_clock")


def downgrade() -> None:
    raise NotImplementedError("the kernel's states are not copied back: restore a backup instead")
