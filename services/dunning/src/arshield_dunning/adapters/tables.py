"""Dunning's tables: read models (projections of the log), policies, agencies, webhook deliveries
and callbacks. Buyer states and business dates are the kernel's (`buyer_states`,
`business_dates`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

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

agencies = sa.Table(
    "dunning_agencies",
    metadata,
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    # sealed with the deployment's secrets key (`fernet:...`; see adapters/secrets.py)
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("previous_secret", sa.Text),  # still signs and verifies until previous_secret_until
    sa.Column("previous_secret_until", sa.DateTime(timezone=True)),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("disabled_reason", sa.Text),
    _created(),
    sa.Index("ix_dunning_agencies_tenant", "tenant_id"),
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

deliveries = sa.Table(
    "dunning_webhook_deliveries",
    metadata,
    # the Standard Webhooks `webhook-id`: constant across retries and re-deliveries
    sa.Column("delivery_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("agency_id", sa.Text, nullable=False),
    sa.Column("case_id", sa.Text),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # attempts since the delivery was created or last re-sent: the retry schedule's position
    sa.Column("cycle_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    # sent as the `traceparent` header of every attempt (the trace of the case's oldest invoice)
    sa.Column("traceparent", sa.Text),
    _created(),
    sa.Index("ix_dunning_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_dunning_deliveries_tenant", "tenant_id", "delivery_id"),
)

delivery_attempts = sa.Table(
    "dunning_webhook_attempts",
    metadata,
    sa.Column("attempt_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("delivery_id", sa.Text, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("webhook_timestamp", sa.BigInteger, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("retry_after_seconds", sa.Float),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("outcome", sa.Text, nullable=False),  # delivered | retry | failed | disabled
)

callbacks = sa.Table(
    "dunning_agency_callbacks",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, primary_key=True),
    sa.Column("idempotency_key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("case_id", sa.Text, nullable=False),
    sa.Column("response", pg.JSONB, nullable=False),
    # the Standard Webhooks `webhook-id`: a replayed message has no second effect whatever
    # Idempotency-Key it carries (null for callbacks accepted before it was remembered)
    sa.Column("webhook_id", sa.Text),
    _created(),
    sa.UniqueConstraint(
        "tenant_id", "agency_id", "webhook_id", name="uq_dunning_agency_callbacks_webhook_id"
    ),
)
