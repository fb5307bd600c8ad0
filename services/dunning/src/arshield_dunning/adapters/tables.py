"""Dunning's tables: read models (projections of the log), policies, agencies, webhook deliveries
and callbacks. Buyer states and business dates are the kernel's (`buyer_states`,
`business_dates`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from arshield_runtime.webhooks.tables import webhook_tables

metadata = sa.MetaData()


def _updated() -> sa.Column[object]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def _created() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


invoice_index = sa.Table(
    "dunning_invoice_index",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("invoice_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    # the W3C traceparent the invoice was first tracked under: later decisions continue its trace
    sa.Column("traceparent", sa.Text),
)

actions = sa.Table(
    "dunning_actions",
    metadata,
    sa.Column("action_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("invoice_id", sa.Text),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("taken_on", sa.Date, nullable=False),
    sa.Column("planned_on", sa.Date),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("facts", pg.JSONB, nullable=False),
    sa.Column("letter_id", sa.Text),
    sa.Column("cause_event_id", sa.Text, nullable=False),
    _created(),
    sa.Index("ix_dunning_actions_invoice", "tenant_id", "invoice_id"),
    sa.Index("ix_dunning_actions_kind", "tenant_id", "action"),
)

letters = sa.Table(
    "dunning_letters",
    metadata,
    sa.Column("letter_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("invoice_ids", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("content", pg.JSONB, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    _created(),
)

promises = sa.Table(
    "dunning_promises",
    metadata,
    sa.Column("promise_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("invoice_ids", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("promised_on", sa.Date, nullable=False),
    sa.Column("grace_until", sa.Date, nullable=False),
    sa.Column("amount", sa.Numeric(19, 4), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("recorded_on", sa.Date, nullable=False),
    sa.Column("recorded_by", sa.Text),
    sa.Column("ended_on", sa.Date),
    _created(),
    sa.Index("ix_dunning_promises_tenant", "tenant_id", "status"),
)

pauses = sa.Table(
    "dunning_pauses",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("invoice_id", sa.Text, primary_key=True),
    sa.Column("reference_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("paused_on", sa.Date, nullable=False),
    sa.Column("until_on", sa.Date),
    sa.Column("resumed_on", sa.Date),
    sa.Column("resume_reason", sa.Text),
)

policies = sa.Table(
    "dunning_policies",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("segment", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("rules", pg.JSONB, nullable=False),
    sa.Column("created_by", sa.Text),
    _created(),
)

cases = sa.Table(
    "dunning_cases",
    metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("invoice_ids", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("amount", sa.Numeric(19, 4), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("collected", sa.Numeric(19, 4), nullable=False, server_default="0"),
    sa.Column("evidence", pg.JSONB, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("agency_reference", sa.Text),
    sa.Column("history", pg.JSONB, nullable=False, server_default="[]"),
    _created(),
    _updated(),
    sa.Index("ix_dunning_cases_tenant", "tenant_id", "case_id"),
)

# Agencies are dunning's webhook partners: the runtime's endpoint, delivery, attempt and callback
# tables under the names dunning has always used (see arshield_runtime.webhooks.tables).
webhooks = webhook_tables(
    metadata,
    key="agency_id",
    endpoints="dunning_agencies",
    deliveries="dunning_webhook_deliveries",
    attempts="dunning_webhook_attempts",
    callbacks="dunning_agency_callbacks",
    prefix="dunning",
    delivery_columns=[sa.Column("case_id", sa.Text)],
    callback_columns=[sa.Column("case_id", sa.Text, nullable=False)],
)
agencies = webhooks.endpoints
deliveries = webhooks.deliveries
delivery_attempts = webhooks.attempts
callbacks = webhooks.callbacks
