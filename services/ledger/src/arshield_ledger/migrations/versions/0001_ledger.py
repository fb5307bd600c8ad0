"""The runtime's tables (inbox, outbox, api_keys) and the ledger's projections.

Revision ID: 0001
Revises:
Create Date: 2026-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from arshield_runtime.migrations import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(19, 4)


def upgrade() -> None:
    create_runtime_tables(op)
    op.create_table(
        "buyer_accounts",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("buyer_id", sa.Text, primary_key=True),
        sa.Column("state", pg.JSONB, nullable=False),
    )
    op.create_table(
        "invoices",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("invoice_id", sa.Text, primary_key=True),
        sa.Column("buyer_id", sa.Text, nullable=False),
        sa.Column("invoice_number", sa.Text, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("payment_terms_days", sa.Integer, nullable=False),
        sa.Column("jurisdiction", sa.Text),
        sa.Column("agreed_annual_rate", sa.Numeric(9, 4)),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("outstanding", MONEY, nullable=False),
        sa.Column("paid", MONEY, nullable=False),
        sa.Column("credited", MONEY, nullable=False),
        sa.Column("settled_on", sa.Date),
        sa.Column("days_late", sa.Integer),
        sa.Column("cancelled_on", sa.Date),
    )
    op.create_index("ix_invoices_buyer", "invoices", ["tenant_id", "buyer_id", "invoice_id"])
    op.create_index("ix_invoices_status", "invoices", ["tenant_id", "status", "invoice_id"])
    op.create_table(
        "instalments",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("invoice_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("buyer_id", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("outstanding", MONEY, nullable=False),
        sa.Column("alerted", sa.SmallInteger, nullable=False),
        sa.Column("next_alert_on", sa.Date),
    )
    op.create_index(
        "ix_instalments_next_alert",
        "instalments",
        ["tenant_id", "next_alert_on"],
        postgresql_where=sa.text("next_alert_on IS NOT NULL"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("buyer_id", sa.Text, primary_key=True),
        sa.Column("entry_no", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.Text),
        sa.Column("seq", sa.Integer),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_entries_invoice",
        "ledger_entries",
        ["tenant_id", "invoice_id", "entry_no"],
        postgresql_where=sa.text("invoice_id IS NOT NULL"),
    )
    op.create_index("ix_entries_tenant_date", "ledger_entries", ["tenant_id", "effective_on"])
    op.create_table(
        "anomalies",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("buyer_id", sa.Text, primary_key=True),
        sa.Column("anomaly_no", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("invoice_id", sa.Text),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_anomalies_tenant", "anomalies", ["tenant_id", "occurred_on", "buyer_id", "anomaly_no"]
    )
    op.create_table(
        "business_days",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("business_date", sa.Date, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "business_days",
        "anomalies",
        "ledger_entries",
        "instalments",
        "invoices",
        "buyer_accounts",
    ):
        op.drop_table(table)
    drop_runtime_tables(op)
