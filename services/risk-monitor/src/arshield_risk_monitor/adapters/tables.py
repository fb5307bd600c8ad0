"""Risk-monitor's tables: read models (projections of the log). Buyer states, business dates and
the scorecard versions put in force are the kernel's (`buyer_states`, `business_dates`,
`configurations`).
No column holds a wall-clock time, so a rebuild reproduces every row."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

metadata = sa.MetaData()

buyers = sa.Table(
    "risk_buyers",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("grade", sa.Integer),
    sa.Column("pd", sa.Float),
    sa.Column("score", sa.Integer),
    sa.Column("scorecard_version", sa.Text, nullable=False),
    sa.Column("factors", pg.JSONB, nullable=False),
    sa.Column("signals", pg.JSONB, nullable=False),
    sa.Column("level", sa.Text),
    sa.Column("insolvent_on", sa.Date),
    sa.Column("assessed_on", sa.Date, nullable=False),
    sa.Index("ix_risk_buyers_grade", "tenant_id", "grade"),
)

history = sa.Table(
    "risk_score_history",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("scored_on", sa.Date, primary_key=True),
    sa.Column("grade", sa.Integer, nullable=False),
    sa.Column("pd", sa.Float, nullable=False),
    sa.Column("score", sa.Integer),
    sa.Column("scorecard_version", sa.Text, nullable=False),
    sa.Column("signals", pg.JSONB, nullable=False),
)

alerts = sa.Table(
    "risk_alerts",
    metadata,
    sa.Column("alert_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("buyer_id", sa.Text, nullable=False),
    sa.Column("level", sa.Text, nullable=False),
    sa.Column("signal", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("scorecard_version", sa.Text, nullable=False),
    sa.Column("raised_on", sa.Date, nullable=False),
    sa.Index("ix_risk_alerts_worklist", "tenant_id", "raised_on", "alert_id"),
    sa.Index("ix_risk_alerts_buyer", "tenant_id", "buyer_id"),
)

grade_changes = sa.Table(
    "risk_grade_changes",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("buyer_id", sa.Text, primary_key=True),
    sa.Column("changed_on", sa.Date, primary_key=True),
    sa.Column("from_grade", sa.Integer),
    sa.Column("to_grade", sa.Integer, nullable=False),
)
