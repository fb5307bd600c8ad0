"""The runtime's tables (inbox, outbox, api keys, the kernel's states and business dates) and
credit-assessment's read models, as they were first released.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

from arshield_runtime.migrations import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENTS = (
    """
    CREATE TABLE contract_reviews (
        tenant_id TEXT NOT NULL,
        review_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        jurisdiction TEXT NOT NULL,
        compliant BOOLEAN NOT NULL,
        findings JSONB NOT NULL,
        policy_version TEXT NOT NULL,
        reviewed_on DATE NOT NULL,
        PRIMARY KEY (tenant_id, review_id)
    )
    """,
    """
    CREATE TABLE credit_decisions (
        tenant_id TEXT NOT NULL,
        decision_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        order_id TEXT,
        currency VARCHAR(3) NOT NULL,
        requested NUMERIC(19, 4) NOT NULL,
        decision TEXT NOT NULL,
        reason_codes JSONB NOT NULL,
        reasons JSONB NOT NULL,
        credit_limit NUMERIC(19, 4),
        exposure_before NUMERIC(19, 4) NOT NULL,
        exposure_after NUMERIC(19, 4) NOT NULL,
        policy_version TEXT NOT NULL,
        decided_on DATE NOT NULL,
        decided_by TEXT,
        referred_decision_id TEXT,
        PRIMARY KEY (tenant_id, decision_id)
    )
    """,
    """
    CREATE INDEX ix_credit_decisions_request ON credit_decisions (tenant_id, request_id)
    """,
    """
    CREATE INDEX ix_credit_decisions_buyer ON credit_decisions (tenant_id, buyer_id, decided_on)
    """,
    """
    CREATE TABLE credit_files (
        tenant_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        grade SMALLINT,
        held BOOLEAN NOT NULL,
        limit_currency VARCHAR(3),
        limit_amount NUMERIC(19, 4),
        exposure_amount NUMERIC(19, 4) NOT NULL,
        cover_amount NUMERIC(19, 4) NOT NULL,
        review_on DATE,
        file JSONB NOT NULL,
        PRIMARY KEY (tenant_id, buyer_id)
    )
    """,
    """
    CREATE INDEX ix_credit_files_review ON credit_files (tenant_id, review_on)
    """,
    """
    CREATE TABLE credit_holds (
        tenant_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        hold_id TEXT NOT NULL,
        cause TEXT NOT NULL,
        reason TEXT NOT NULL,
        invoice_ids JSONB NOT NULL,
        placed_on DATE NOT NULL,
        policy_version TEXT NOT NULL,
        released_on DATE,
        released_by TEXT,
        release_reason TEXT,
        PRIMARY KEY (tenant_id, buyer_id, hold_id)
    )
    """,
    """
    CREATE TABLE credit_policies (
        tenant_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        policy JSONB NOT NULL,
        published_by TEXT NOT NULL,
        published_on DATE NOT NULL,
        PRIMARY KEY (tenant_id, version)
    )
    """,
    """
    CREATE TABLE exposure_history (
        tenant_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        currency VARCHAR(3) NOT NULL,
        "on" DATE NOT NULL,
        open_receivables NUMERIC(19, 4) NOT NULL,
        open_orders NUMERIC(19, 4) NOT NULL,
        PRIMARY KEY (tenant_id, buyer_id, currency, "on")
    )
    """,
    """
    CREATE TABLE limit_history (
        tenant_id TEXT NOT NULL,
        buyer_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        effective_on DATE NOT NULL,
        currency VARCHAR(3) NOT NULL,
        amount NUMERIC(19, 4) NOT NULL,
        terms_days INTEGER NOT NULL,
        security TEXT NOT NULL,
        reason TEXT NOT NULL,
        policy_version TEXT NOT NULL,
        computation JSONB NOT NULL,
        PRIMARY KEY (tenant_id, buyer_id, seq)
    )
    """,
)
TABLES = (
    "limit_history",
    "exposure_history",
    "credit_policies",
    "credit_holds",
    "credit_files",
    "credit_decisions",
    "contract_reviews",
)


def upgrade() -> None:
    create_runtime_tables(op)
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
    drop_runtime_tables(op)
