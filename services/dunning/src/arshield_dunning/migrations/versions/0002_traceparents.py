"""The W3C `traceparent` an invoice was first tracked under, and a webhook delivery's.

Decisions taken on a later tick about an invoice continue the trace of the event that issued it,
and so does the agency webhook of the case that covers it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dunning_invoice_index", sa.Column("traceparent", sa.Text(), nullable=True))
    op.add_column("dunning_webhook_deliveries", sa.Column("traceparent", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("dunning_webhook_deliveries", "traceparent")
    op.drop_column("dunning_invoice_index", "traceparent")
