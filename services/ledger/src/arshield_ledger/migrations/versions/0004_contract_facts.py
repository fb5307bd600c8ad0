"""Invoices keep the contract facts the late-payment law needs: when the contract was signed, and
whether the creditor is an SME and the debtor a large enterprise or public body (China's SME Payment
Regulations). Unknown (null) for invoices recorded before: a rebuild fills them from the log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("signed_on", sa.Date))
    op.add_column("invoices", sa.Column("creditor_is_sme", sa.Boolean))
    op.add_column("invoices", sa.Column("debtor_is_large_or_public", sa.Boolean))


def downgrade() -> None:
    for column in ("debtor_is_large_or_public", "creditor_is_sme", "signed_on"):
        op.drop_column("invoices", column)
