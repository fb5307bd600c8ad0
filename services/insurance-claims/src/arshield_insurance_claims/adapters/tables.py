"""The service's tables: read models (projections of the log), policy versions, and the insurer's
webhook tables (the partner itself is `insurers.INSURERS`). Buyer states and business dates are
the kernel's."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from arshield_runtime.webhooks.tables import webhook_tables

metadata = sa.MetaData()
Money = sa.Numeric(19, 4)

policies = sa.Table(
    "insurance_policies",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("policy_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("rules", pg.JSONB, nullable=False),
    sa.Column("written_by", sa.Text),
)

buyers = sa.Table(
    "insurance_buyers",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("policy_id", sa.Text),
    sa.Column("stop_supply_on", sa.Date),
    sa.Column("stop_supply_reason", sa.Text),
    sa.Column("insolvent_on", sa.Date),
)

cover = sa.Table(
    "insurance_cover",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("decision_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("policy_id", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("previous", Money),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("notified_on", sa.Date, nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("request_id", sa.Text),
    sa.Index("ix_insurance_cover_buyer", "tenant_id", "buyer_id", "seq"),
)

limit_requests = sa.Table(
    "insurance_limit_requests",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("policy_id", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("requested_on", sa.Date, nullable=False),
    sa.Column("decision_id", sa.Text),
)

notifications = sa.Table(
    "insurance_notifications",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("notification_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("policy_id", sa.Text, nullable=False),
    sa.Column("ground", sa.Text, nullable=False),
    sa.Column("invoice_ids", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("oldest_due_on", sa.Date, nullable=False),
    sa.Column("deadline_on", sa.Date, nullable=False),
    sa.Column("notified_on", sa.Date, nullable=False),
    sa.Column("in_time", sa.Boolean, nullable=False),
    sa.Column("forfeited", pg.ARRAY(sa.Text), nullable=False),
)

claims = sa.Table(
    "insurance_claims",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("claim_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("policy_id", sa.Text, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("ground", sa.Text, nullable=False),
    sa.Column("date_of_loss", sa.Date, nullable=False),
    sa.Column("filed_on", sa.Date, nullable=False),
    sa.Column("invoice_ids", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("insured_outstanding", Money, nullable=False),
    sa.Column("total_outstanding", Money, nullable=False),
    sa.Column("cover", Money, nullable=False),
    sa.Column("indemnity_percentage", sa.Numeric(7, 4), nullable=False),
    sa.Column("claimed_indemnity", Money, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("evidence", pg.JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("indemnity_paid", Money, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("settled_on", sa.Date),
    sa.Index("ix_insurance_claims_policy", "tenant_id", "policy_id", "filed_on"),
)

recoveries = sa.Table(
    "insurance_recoveries",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("recovery_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("claim_id", sa.Text),
    sa.Column("policy_id", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("to_insured", Money, nullable=False),
    sa.Column("to_insurer", Money, nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Index("ix_insurance_recoveries_claim", "tenant_id", "claim_id"),
)

deadlines = sa.Table(
    "insurance_deadlines",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("invoice_id", sa.Text),
    sa.Column("done_on", sa.Date),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("missed_on", sa.Date),
    sa.Column("consequence", sa.Text),
    sa.Index("ix_insurance_deadlines_due", "tenant_id", "due_on"),
)

# The insurer is the service's webhook partner: the runtime's endpoint, delivery, attempt and
# callback tables (see arshield_runtime.webhooks.tables).
webhooks = webhook_tables(
    metadata,
    key="insurer_id",
    endpoints="insurance_insurers",
    deliveries="insurance_webhook_deliveries",
    attempts="insurance_webhook_attempts",
    callbacks="insurance_insurer_callbacks",
    prefix="insurance",
    delivery_columns=[sa.Column("buyer_id", sa.Text), sa.Column("subject_id", sa.Text)],
    callback_columns=[sa.Column("subject_id", sa.Text, nullable=False)],
)
