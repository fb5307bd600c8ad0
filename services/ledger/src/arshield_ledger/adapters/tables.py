"""The ledger's projections (read models), all derived from the log and rebuildable.

- `ledger_entries` is append-only: every dated movement of a buyer's receivable (and the
  non-monetary facts of an invoice's history, amount 0). Any "as of" answer sums the entries with
  `effective_on <= as_of`; numbered per buyer (`entry_no`), so a rebuild numbers them the same.
- `invoices` and `instalments` hold each invoice's terms and its live state (status, outstanding,
  the overdue level announced and the date the next announcement falls due).
- `anomalies` are the judgement calls taken (overpayments, facts before their invoice, ...).
The kernel keeps each buyer's state (`buyer_states`) and each tenant's business date
(`business_dates`) in the runtime's own tables.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
MONEY = sa.Numeric(19, 4)

invoices = sa.Table(
    "invoices",
    metadata,
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
    sa.Column("signed_on", sa.Date),
    sa.Column("creditor_is_sme", sa.Boolean),
    sa.Column("debtor_is_large_or_public", sa.Boolean),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("outstanding", MONEY, nullable=False),
    sa.Column("paid", MONEY, nullable=False),
    sa.Column("credited", MONEY, nullable=False),
    sa.Column("settled_on", sa.Date),
    sa.Column("days_late", sa.Integer),
    sa.Column("cancelled_on", sa.Date),
    sa.Index("ix_invoices_buyer", "tenant_id", "buyer_id", "invoice_id"),
    sa.Index("ix_invoices_status", "tenant_id", "status", "invoice_id"),
)

instalments = sa.Table(
    "instalments",
    metadata,
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

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
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
    sa.Index(
        "ix_entries_invoice",
        "tenant_id",
        "invoice_id",
        "entry_no",
        postgresql_where=sa.text("invoice_id IS NOT NULL"),
    ),
    sa.Index("ix_entries_tenant_date", "tenant_id", "effective_on"),
)

anomalies = sa.Table(
    "anomalies",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("anomaly_no", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("occurred_on", sa.Date, nullable=False),
    sa.Column("invoice_id", sa.Text),
    sa.Column("ref", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("ix_anomalies_tenant", "tenant_id", "occurred_on", "buyer_id", "anomaly_no"),
)

PROJECTION_TABLES = ("invoices", "instalments", "ledger_entries", "anomalies")
