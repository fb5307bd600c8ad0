"""The tables outbound webhooks keep, in the service's own database and metadata: its partners'
endpoints, the deliveries to make and every attempt, and the callbacks partners sent.

The service declares them (with `webhook_tables`, under names of its choosing, with columns of
its own added) and creates them in its migrations like any table of its own; the runtime reads and
writes them through a `Partner`, which names the key column (`agency_id`, `insurer_id`) and the
words its problem documents use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg


@dataclass(frozen=True)
class WebhookTables:
    endpoints: sa.Table
    deliveries: sa.Table
    attempts: sa.Table
    callbacks: sa.Table
    key: str
    """The endpoint id column, named the same in `endpoints`, `deliveries` and `callbacks`."""


@dataclass(frozen=True)
class Partner:
    """One kind of partner a service sends webhooks to and takes callbacks from."""

    tables: WebhookTables
    noun: str
    """What the partner is called in problem documents: "agency" ("agency agy_1 does not exist")."""
    id_prefix: str
    """New endpoint ids are this prefix and 16 hex digits."""
    problem_type: str
    """The service's problem-type namespace: `<problem_type>:invalid-signature`, ..."""

    @property
    def key(self) -> str:
        return self.tables.key


def _created() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def webhook_tables(
    metadata: sa.MetaData,
    *,
    key: str,
    endpoints: str,
    deliveries: str,
    attempts: str,
    callbacks: str,
    prefix: str,
    delivery_columns: Sequence[sa.Column[object]] = (),
    callback_columns: Sequence[sa.Column[object]] = (),
) -> WebhookTables:
    """The four tables under the given names (`prefix` starts index and constraint names), with
    the service's own columns appended to the deliveries (what a delivery is about) and callbacks
    (what a callback changed)."""
    return WebhookTables(
        endpoints=sa.Table(
            endpoints,
            metadata,
            sa.Column(key, sa.Text, primary_key=True),
            sa.Column("tenant_id", sa.Text, nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("url", sa.Text, nullable=False),
            # sealed with the deployment's secrets key (`fernet:...`; see webhooks/secrets.py)
            sa.Column("secret", sa.Text, nullable=False),
            # still signs and verifies until previous_secret_until
            sa.Column("previous_secret", sa.Text),
            sa.Column("previous_secret_until", sa.DateTime(timezone=True)),
            sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
            sa.Column("disabled_reason", sa.Text),
            _created(),
            sa.Index(f"ix_{endpoints}_tenant", "tenant_id"),
        ),
        deliveries=sa.Table(
            deliveries,
            metadata,
            # the Standard Webhooks `webhook-id`: constant across retries and re-deliveries
            sa.Column("delivery_id", sa.Text, primary_key=True),
            sa.Column("tenant_id", sa.Text, nullable=False),
            sa.Column(key, sa.Text, nullable=False),
            *delivery_columns,
            sa.Column("event_type", sa.Text, nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("status", sa.Text, nullable=False),  # pending | delivered | failed
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            # attempts since the delivery was created or last re-sent: the schedule's position
            sa.Column("cycle_attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
            sa.Column("last_status_code", sa.Integer),
            sa.Column("last_error", sa.Text),
            sa.Column("delivered_at", sa.DateTime(timezone=True)),
            # sent as the `traceparent` header of every attempt
            sa.Column("traceparent", sa.Text),
            _created(),
            sa.Index(f"ix_{prefix}_deliveries_due", "status", "next_attempt_at"),
            sa.Index(f"ix_{prefix}_deliveries_tenant", "tenant_id", "delivery_id"),
        ),
        attempts=sa.Table(
            attempts,
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
        ),
        callbacks=sa.Table(
            callbacks,
            metadata,
            sa.Column("tenant_id", sa.Text, primary_key=True),
            sa.Column(key, sa.Text, primary_key=True),
            sa.Column("idempotency_key", sa.Text, primary_key=True),
            sa.Column("request_hash", sa.Text, nullable=False),
            *callback_columns,
            sa.Column("response", pg.JSONB, nullable=False),
            # the Standard Webhooks `webhook-id`: a replayed message has no second effect whatever
            # Idempotency-Key it carries (null for callbacks remembered before it was)
            sa.Column("webhook_id", sa.Text),
            _created(),
            sa.UniqueConstraint("tenant_id", key, "webhook_id", name=f"uq_{callbacks}_webhook_id"),
        ),
        key=key,
    )
