"""Credit-assessment's read models, all derived from the log and rebuildable.

- `credit_files`: one row per buyer, the credit file as JSON plus the columns lists filter on;
- `credit_holds`: every hold, active or released; `credit_decisions`: every credit decision;
- `limit_history`: every published limit change, numbered per buyer;
- `exposure_history`: a buyer's exposure per currency at the end of every business date it changed
  on (the tenant's business date when the change was consumed), for answers as of a past date;
- `contract_reviews`: every contract review.
`credit_policies` is not a read model: it numbers the versions written over HTTP (the version in
force is the kernel's configuration, recorded when the version is read back from the log).
The kernel keeps each buyer's state (`buyer_states`) and the tenant's business date.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()
MONEY = sa.Numeric(19, 4)

credit_files = sa.Table(
    "credit_files",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("grade", sa.SmallInteger),
    sa.Column("held", sa.Boolean, nullable=False),
    sa.Column("limit_currency", sa.String(3)),
    sa.Column("limit_amount", MONEY),
    sa.Column("exposure_amount", MONEY, nullable=False),
    sa.Column("cover_amount", MONEY, nullable=False),
    sa.Column("review_on", sa.Date),
    sa.Column("file", pg.JSONB, nullable=False),
    sa.Index("ix_credit_files_review", "tenant_id", "review_on"),
)

credit_holds = sa.Table(
    "credit_holds",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("hold_id", sa.Text, primary_key=True),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("invoice_ids", pg.JSONB, nullable=False),
    sa.Column("placed_on", sa.Date, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("released_on", sa.Date),
    sa.Column("released_by", sa.Text),
    sa.Column("release_reason", sa.Text),
)

credit_decisions = sa.Table(
    "credit_decisions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("decision_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("request_id", sa.Text, nullable=False),
    sa.Column("order_id", sa.Text),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("requested", MONEY, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("reason_codes", pg.JSONB, nullable=False),
    sa.Column("reasons", pg.JSONB, nullable=False),
    sa.Column("credit_limit", MONEY),
    sa.Column("exposure_before", MONEY, nullable=False),
    sa.Column("exposure_after", MONEY, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("decided_by", sa.Text),
    sa.Column("referred_decision_id", sa.Text),
    sa.Index("ix_credit_decisions_buyer", "tenant_id", "buyer_id", "decided_on"),
    sa.Index("ix_credit_decisions_request", "tenant_id", "request_id"),
)

limit_history = sa.Table(
    "limit_history",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("terms_days", sa.Integer, nullable=False),
    sa.Column("security", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("computation", pg.JSONB, nullable=False),
)

contract_reviews = sa.Table(
    "contract_reviews",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("review_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("jurisdiction", sa.Text, nullable=False),
    sa.Column("compliant", sa.Boolean, nullable=False),
    sa.Column("findings", pg.JSONB, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("reviewed_on", sa.Date, nullable=False),
)

exposure_history = sa.Table(
    "exposure_history",
    metadata,
    # A buyer's exposure per currency at the end of each business date it changed on.
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("on", sa.Date, primary_key=True),
    sa.Column("open_receivables", MONEY, nullable=False),
    sa.Column("open_orders", MONEY, nullable=False),
)

credit_policies = sa.Table(
    "credit_policies",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("policy", pg.JSONB, nullable=False),
    sa.Column("published_by", sa.Text, nullable=False),
    sa.Column("published_on", sa.Date, nullable=False),
)
