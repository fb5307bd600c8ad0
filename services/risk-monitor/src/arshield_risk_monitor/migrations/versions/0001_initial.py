"""The runtime's tables (inbox, outbox, api keys, the kernel's buyer states, business dates and
configurations) and risk-monitor's read models.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arshield_runtime.migrations import drop_runtime_tables, upgrade_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_runtime_tables(op)
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.create_table(
        "risk_buyers",
        sa.Column("tenant_id", sa.Text(), primary_key=True),
        sa.Column("buyer_id", sa.Text(), primary_key=True),
        sa.Column("grade", sa.Integer()),
        sa.Column("pd", sa.Float()),
        sa.Column("score", sa.Integer()),
        sa.Column("scorecard_version", sa.Text(), nullable=False),
        sa.Column("factors", jsonb, nullable=False),
        sa.Column("signals", jsonb, nullable=False),
        sa.Column("level", sa.Text()),
        sa.Column("insolvent_on", sa.Date()),
        sa.Column("assessed_on", sa.Date(), nullable=False),
    )
    op.create_index("ix_risk_buyers_grade", "risk_buyers", ["tenant_id", "grade"])
    op.create_table(
        "risk_score_history",
        sa.Column("tenant_id", sa.Text(), primary_key=True),
        sa.Column("buyer_id", sa.Text(), primary_key=True),
        sa.Column("scored_on", sa.Date(), primary_key=True),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("pd", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer()),
        sa.Column("scorecard_version", sa.Text(), nullable=False),
        sa.Column("signals", jsonb, nullable=False),
    )
    op.create_table(
        "risk_alerts",
        sa.Column("alert_id", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("buyer_id", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("signal", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("scorecard_version", sa.Text(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
    )
    op.create_index(
        "ix_risk_alerts_worklist", "risk_alerts", ["tenant_id", "raised_on", "alert_id"]
    )
    op.create_index("ix_risk_alerts_buyer", "risk_alerts", ["tenant_id", "buyer_id"])
    op.create_table(
        "risk_grade_changes",
        sa.Column("tenant_id", sa.Text(), primary_key=True),
        sa.Column("buyer_id", sa.Text(), primary_key=True),
        sa.Column("changed_on", sa.Date(), primary_key=True),
        sa.Column("from_grade", sa.Integer()),
        sa.Column("to_grade", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "risk_grade_changes",
        "risk_alerts",
        "risk_score_history",
        "risk_buyers",
    ):
        op.drop_table(table)
    drop_runtime_tables(op)
